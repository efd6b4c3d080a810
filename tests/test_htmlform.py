"""The test helper that submits a page's form as a browser does (tests/htmlform.py)."""
from tests.htmlform import find_form, form_data

PAGE = """
<form method="post" action="/a"><button type="submit">Other</button></form>
<form method="post" action="/mode">
  <input type="hidden" name="csrf_token" value="t">
  <input type="hidden" name="mode" value="">
  <input type="hidden" name="mode" value="emergency">
  <label for="reason">Reason</label><textarea id="reason" name="reason">
</textarea>
  <select name="risk"><option value="low">Low</option><option value="high" selected>High</option></select>
  <input type="checkbox" name="case" value="1"><input type="checkbox" name="case" value="2" checked>
  <input type="radio" name="when" value="am" checked><input type="radio" name="when" value="pm">
  <input type="text" name="off" value="x" disabled>
  <button type="submit" name="go" value="yes">Switch</button>
</form>
"""


def test_controls_are_sent_in_document_order_with_the_pressed_button():
    form = find_form(PAGE, button="Switch")
    data = form_data(form, {"Reason": "flood", "case": ["1"], "when": "pm", "risk": "low"}, button="Switch")
    assert data.getlist("mode") == ["", "emergency"]  # the first wins in request.form["mode"]
    assert data["reason"] == "flood" and data["risk"] == "low"
    assert data.getlist("case") == ["1"] and data["when"] == "pm"
    assert "off" not in data and data["go"] == "yes" and data["csrf_token"] == "t"


def test_defaults_are_what_the_page_holds():
    data = form_data(find_form(PAGE, button="Switch"))
    assert data["risk"] == "high" and data.getlist("case") == ["2"] and data["when"] == "am"
    assert data["reason"] == "" and "go" not in data
