"""docs/pri.md embeds the tables generated from the code; keep them equal."""
from pathlib import Path

from cti.signaling.pri.diagram import tables_markdown


def test_docs_tables_match_code():
    text = (Path(__file__).resolve().parents[1] / "docs" / "pri.md").read_text()
    section = text.split("<!-- tables:begin -->\n", 1)[1].split("<!-- tables:end -->", 1)[0]
    assert section == tables_markdown()
