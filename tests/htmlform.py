"""Submit a page's form the way a browser does: the test reads the HTML it was served, fills
the named controls a person would, presses a named button, and the request carries exactly the
controls the browser would send, in document order (so two inputs with one name arrive as the
browser sends them, and the first is what `request.form[name]` reads).

Use it wherever a test exercises a page's form; posting a hand-made dictionary misses defects
in the page itself (a duplicated hidden input, a field the template forgot)."""
from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

from werkzeug.datastructures import MultiDict


@dataclass
class Control:
    tag: str
    attrs: dict[str, str]
    options: list[tuple[str, bool]] = field(default_factory=list)  # select: (value, selected)
    text: str = ""  # textarea content, button text

    @property
    def name(self) -> str | None:
        return self.attrs.get("name")

    @property
    def type(self) -> str:
        if self.tag == "input":
            return (self.attrs.get("type") or "text").lower()
        if self.tag == "button":
            return (self.attrs.get("type") or "submit").lower()
        return self.tag

    @property
    def disabled(self) -> bool:
        return "disabled" in self.attrs


@dataclass
class Form:
    attrs: dict[str, str]
    controls: list[Control] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # control id -> label text

    @property
    def action(self) -> str:
        return self.attrs.get("action", "")

    @property
    def method(self) -> str:
        return (self.attrs.get("method") or "get").lower()

    def buttons(self) -> list[Control]:
        return [c for c in self.controls if c.type == "submit" and c.tag in ("button", "input")]

    def button_texts(self) -> list[str]:
        return [(c.text if c.tag == "button" else c.attrs.get("value", "")).strip() for c in self.buttons()]


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._open: Control | None = None  # textarea, button or option being read
        self._select: Control | None = None
        self._option: list | None = None
        self._label_for: str | None = None
        self._label_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = Form(attributes)
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        if tag == "label":
            self._label_for = attributes.get("for")
            self._label_text = []
        elif tag == "input":
            self._form.controls.append(Control("input", attributes))
        elif tag in ("textarea", "button"):
            self._open = Control(tag, attributes)
            self._form.controls.append(self._open)
        elif tag == "select":
            self._select = Control("select", attributes)
            self._form.controls.append(self._select)
        elif tag == "option" and self._select is not None:
            self._option = [attributes.get("value"), "selected" in attributes, []]

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "label" and self._form is not None:
            if self._label_for:
                self._form.labels[self._label_for] = " ".join("".join(self._label_text).split())
            self._label_for = None
        elif tag in ("textarea", "button"):
            self._open = None
        elif tag == "option" and self._option is not None and self._select is not None:
            value, selected, text = self._option
            self._select.options.append((value if value is not None else "".join(text).strip(), selected))
            self._option = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._open is not None:
            self._open.text += data
        if self._option is not None:
            self._option[2].append(data)
        if self._label_for is not None:
            self._label_text.append(data)


def forms_of(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def find_form(html: str, button: str | None = None, action: str | None = None) -> Form:
    """The form holding a submit button whose text is `button` (or whose action ends with `action`)."""
    candidates = []
    for form in forms_of(html):
        if button is not None and button not in form.button_texts():
            continue
        if action is not None and not form.action.endswith(action):
            continue
        candidates.append(form)
    assert candidates, f"no form with button {button!r} / action {action!r} on the page"
    assert len(candidates) == 1, f"{len(candidates)} forms match button {button!r} / action {action!r}"
    return candidates[0]


def _control_for(form: Form, key: str) -> list[Control]:
    """Controls named `key`, or whose label text is `key`."""
    by_name = [c for c in form.controls if c.name == key]
    if by_name:
        return by_name
    ids = [cid for cid, text in form.labels.items() if text == key]
    return [c for c in form.controls if c.attrs.get("id") in ids]


def form_data(form: Form, fill: dict | None = None, button: str | None = None) -> MultiDict:
    """What the browser sends: every enabled, named control in document order, after `fill`.

    `fill` maps a control's name (or its label text) to a value: text for inputs, textareas and
    selects (the value must be one of the select's options), True/False or a value for
    checkboxes and radios (a radio's value picks which one is checked); a list sets several
    checkboxes of one name."""
    fill = dict(fill or {})
    state: dict[int, object] = {}
    for key, value in fill.items():
        controls = _control_for(form, key)
        assert controls, f"the form has no control named or labelled {key!r}"
        for control in controls:
            kind = control.type
            if kind in ("checkbox", "radio"):
                own = control.attrs.get("value", "on")
                if isinstance(value, bool):
                    state[id(control)] = value
                elif isinstance(value, (list, tuple, set)):
                    state[id(control)] = own in {str(v) for v in value}
                else:
                    state[id(control)] = own == str(value)
            elif kind == "select":
                values = [v for v, _ in control.options]
                wanted = [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
                for v in wanted:
                    assert v in values, f"{key!r} has no option {v!r} (options: {values})"
                state[id(control)] = wanted
            else:
                assert not control.disabled, f"{key!r} is disabled"
                assert kind not in ("hidden", "submit"), f"{key!r} is a {kind} control a person cannot type in"
                state[id(control)] = str(value)
    pressed = None
    if button is not None:
        for control in form.buttons():
            text = (control.text if control.tag == "button" else control.attrs.get("value", "")).strip()
            if text == button:
                pressed = control
                break
        assert pressed is not None, f"no button {button!r} (buttons: {form.button_texts()})"
    data = MultiDict()
    for control in form.controls:
        if not control.name or control.disabled:
            continue
        kind = control.type
        if kind in ("submit", "image", "reset", "button"):
            if control is pressed:
                data.add(control.name, control.attrs.get("value", ""))
            continue
        if kind in ("checkbox", "radio"):
            checked = state.get(id(control), "checked" in control.attrs)
            if checked:
                data.add(control.name, control.attrs.get("value", "on"))
        elif kind == "select":
            chosen = state.get(id(control))
            if chosen is None:
                selected = [v for v, s in control.options if s]
                chosen = selected or ([control.options[0][0]] if control.options and "multiple" not in control.attrs
                                      else [])
            for v in chosen:
                data.add(control.name, v)
        elif kind == "file":
            continue
        elif control.tag == "textarea":
            value = state.get(id(control), control.text.removeprefix("\n"))
            data.add(control.name, value)
        else:
            data.add(control.name, state.get(id(control), control.attrs.get("value", "")))
    return data


def submit(client, page, button: str, fill: dict | None = None, action: str | None = None, **kwargs):
    """Press `button` in the form of `page` (a response, or a path to GET first) after `fill`.

    Returns the response to the form's own method and action, resolved against the page's URL."""
    if isinstance(page, str):
        url = page
        page = client.get(page)
        assert page.status_code == 200, f"GET {url} answered {page.status_code}"
    else:
        url = page.request.path if page.request is not None else "/"
    form = find_form(page.get_data(as_text=True), button=button, action=action)
    data = form_data(form, fill, button)
    target = urljoin(url, form.action or url)
    if form.method == "post":
        return client.post(target, data=data, **kwargs)
    return client.get(target, query_string=data, **kwargs)
