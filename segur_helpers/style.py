"""One stylesheet for the evidence cards, used inline in JupyterLab and in the PDF proof alike."""

CSS = """
.segur-card { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; color: #1c2833;
  border: 1px solid #c9d3dd; border-radius: 6px; padding: 8px 12px; margin: 8px 0; background: #fff;
  break-inside: avoid; }
.segur-card h4 { margin: 0 0 6px 0; font-size: 10.5pt; color: #0b4f8a; }
.segur-card .caption { font-size: 9pt; color: #4a5a6a; margin-top: 4px; }
.segur-card .hash { font-family: "DejaVu Sans Mono", monospace; font-size: 7.5pt; color: #6b7b8b; overflow-wrap: anywhere; }
/* a SHA-256 is never cut: it moves to a line of its own, whole, so that it can be read and copied */
.sha { white-space: nowrap; font-family: "DejaVu Sans Mono", monospace; }
.segur-card table.exchange th.side { background: #dfe7f1; color: #0b4f8a; }
.segur-card table.exchange pre { margin: 0; border: 0; padding: 0; background: transparent; }
.segur-card img.shot { max-width: 100%; border: 1px solid #9aa7b4; display: block; margin-top: 4px; }
.segur-card table { border-collapse: collapse; width: 100%; font-size: 9pt; margin-top: 4px; }
.segur-card table th, .segur-card table td { border: 1px solid #d5dde5; padding: 3px 6px; text-align: left !important;
  vertical-align: top; }
.segur-card table th { background: #eef2f7; }
.segur-card table tr:nth-child(odd) td { background: #fff; }
.segur-card td { overflow-wrap: anywhere; }
.segur-card pre { white-space: pre-wrap; word-break: break-word; font-size: 8.5pt; background: #f7f9fb;
  border: 1px solid #e1e7ee; padding: 6px; margin: 4px 0; font-family: "DejaVu Sans Mono", monospace; }
.segur-card mark { background: #ffe680; padding: 0 2px; }
.segur-pass { color: #1e6b2f; font-weight: bold; }
.segur-fail { color: #a61b1b; font-weight: bold; }
.segur-verdict { display: inline-block; padding: 4px 12px; border-radius: 4px; font-weight: bold; color: #fff; }
.segur-verdict.CONFORME { background: #1e7b34; }
.segur-verdict.NON_CONFORME { background: #b3261e; }
.segur-verdict.NON_APPLICABLE { background: #5a6b7b; }
.segur-verdict.ERREUR { background: #b36b00; }
.segur-verdict.EN_COURS { background: #0b4f8a; }
.segur-manual { border-left: 5px solid #6a4c93; background: #faf7fd; }
.segur-manual h4 { color: #4b2c77; }
.segur-step { border-left: 5px solid #0b4f8a; }
.segur-step .thumbs { display: flex; gap: 8px; flex-wrap: wrap; margin: 4px 0; }
.segur-step .thumbs figure { margin: 0; width: 220px; }
.segur-step .thumbs img { width: 220px; border: 1px solid #9aa7b4; display: block; }
.segur-step .thumbs figcaption { font-size: 8pt; color: #4a5a6a; }
.segur-step ul { margin: 2px 0 4px 18px; padding: 0; }
/* in JupyterLab only (not in the PDF): screenshots as thumbnails, full size on hover */
.jp-NotebookPanel .segur-card img.shot { max-height: 260px; width: auto; cursor: zoom-in; }
.jp-NotebookPanel .segur-card img.shot:hover { max-height: none; max-width: 100%; }
.segur-error { border-color: #e0a040; background: #fff7e8; }
"""
