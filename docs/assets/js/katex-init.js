// Typeset the math that pymdownx.arithmatex (generic mode) leaves in the page:
// <span class="arithmatex">\(...\)</span> inline and <div class="arithmatex">\[...\]</div>
// displayed. KaTeX is served from the site itself (assets/katex), so this works offline.
function renderMath(root) {
  for (const el of root.querySelectorAll(".arithmatex")) {
    if (el.dataset.typeset) continue;
    const text = el.textContent.trim();
    const display = text.startsWith("\\[");
    // Strip the delimiters arithmatex wrapped around the TeX.
    const tex = text.slice(2, -2);
    // throwOnError false: a bad formula shows as red .katex-error in place instead of
    // stopping the page; the docs tests look for it.
    katex.render(tex, el, { displayMode: display, throwOnError: false });
    el.dataset.typeset = "1";
  }
}

// Material's instant navigation swaps pages without a reload and announces each one
// on document$; without it (no instant loading) the DOM is ready when this runs.
if (typeof document$ !== "undefined") {
  document$.subscribe(({ body }) => renderMath(body));
} else {
  renderMath(document.body);
}
