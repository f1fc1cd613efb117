"""MkDocs hooks: pages from notebooks, and nothing served from the web.

* A page whose Markdown holds ``<!-- notebook: notebooks/NAME.ipynb -->`` gets the
  notebook in its place: its Markdown cells as they are, its code cells as Python
  blocks, and the outputs stored in the .ipynb (text, and figures as inline images).
  So the notebook is written once and read in both places.
* Material's offline plugin (search from file://) adds a script tag for the
  iframe-worker shim from a CDN. The shim is kept in docs/assets/iframe-worker/; the
  pages are pointed at that copy, by a path relative to each page.
"""
import base64
import json
import re
from pathlib import Path

CDN_SHIM = "https://unpkg.com/iframe-worker/shim"
LOCAL_SHIM = "assets/iframe-worker/shim.js"
NOTEBOOK = re.compile(r"^<!-- notebook: (\S+) -->$", re.M)


def fence(text, language):
    # A fence longer than any run of backticks inside, so the text cannot close it.
    ticks = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", text)), default=0))
    return f"{ticks}{language}\n{text.rstrip()}\n{ticks}"


def output_markdown(output):
    """One stored output as Markdown: a text block or an inline PNG."""
    if output["output_type"] == "stream":
        return fence("".join(output["text"]), "text")
    data = output.get("data", {})
    if "image/png" in data:
        png = "".join(data["image/png"]).replace("\n", "")
        return f'<img alt="figure" src="data:image/png;base64,{png}">'
    if "image/svg+xml" in data:
        svg = base64.b64encode("".join(data["image/svg+xml"]).encode()).decode()
        return f'<img alt="figure" src="data:image/svg+xml;base64,{svg}">'
    if "text/plain" in data:
        return fence("".join(data["text/plain"]), "text")
    if output["output_type"] == "error":
        raise ValueError(f"a stored notebook output is an error: {output['ename']}")
    return ""


def notebook_markdown(path):
    cells = json.loads(Path(path).read_text())["cells"]
    parts = []
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            parts.append(source)
        elif cell["cell_type"] == "code" and "google.colab" not in source:
            parts.append(fence(source, "python"))  # the Colab install cell is left out
            parts.extend(output_markdown(o) for o in cell.get("outputs", []))
    return "\n\n".join(p for p in parts if p)


def on_page_markdown(markdown, page, config, files):
    root = Path(config["config_file_path"]).parent
    return NOTEBOOK.sub(lambda m: notebook_markdown(root / m.group(1)), markdown)


def on_post_page(output, page, config):
    depth = page.file.url.count("/")  # api/engine.html sits one folder down
    return output.replace(CDN_SHIM, "../" * depth + LOCAL_SHIM)


def on_post_template(output, template_name, config):
    # 404.html is rendered from a template, not a page; it sits at the site's root.
    return output.replace(CDN_SHIM, LOCAL_SHIM)
