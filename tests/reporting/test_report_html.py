"""report.html shows user-supplied strings (algorithm labels, names, the title) as text, never as markup."""

from __future__ import annotations

import base64

from rlbench.reporting.report import render_html

HOSTILE = "<img src=x onerror=alert(1)>"
PNG = b"\x89PNG fake"


def test_hostile_label_and_title_are_escaped_while_tables_and_figures_still_render(tmp_path):
    (tmp_path / "curves.png").write_bytes(PNG)
    markdown = (f"# Report of {HOSTILE}\n\n| label | iqm |\n|---|---:|\n| {HOSTILE} | 0.5 |\n\n{HOSTILE}\n\n"
                "![curves](curves.png)\n")
    page = render_html(markdown, tmp_path, f"suite {HOSTILE}")
    assert "<img src=x" not in page and "onerror=alert(1)>" not in page
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") == 4  # heading, cell, paragraph, title
    assert "<table>" in page and "<td>0.5</td>" in page.replace(' style="text-align:right"', "")
    assert f'src="data:image/png;base64,{base64.b64encode(PNG).decode()}"' in page
