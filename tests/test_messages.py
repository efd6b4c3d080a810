"""Words the system writes for later readers are stored as messages and shown in each reader's
language: alert summaries (an inbound referral, a call-back request, a red-tier outreach concern,
a follow-up or re-screening that reopens a case) and the timeline lines made from them. What a
person typed is shown as typed; text stored before messages existed is shown as written."""
from __future__ import annotations

from datetime import date

from flask_babel import force_locale
from sqlalchemy import select

from carecycle.alerts import Alert, raise_alert
from carecycle.messages import call, day, label, render, said, store, text, words
from referrals.service import inbound


def test_a_message_renders_in_each_readers_language(app):
    message = said("%(n)d-month follow-up: %(status)s", n=3, status=label("follow_up_status", "worse"))
    stored = store(message)
    with app.test_request_context():
        assert render(stored) == "3-month follow-up: Worse than at closure"
        with force_locale("zh_Hant"):
            chinese = render(stored)
        with force_locale("zh_Hans"):
            simplified = render(stored)
    assert "3" in chinese and "follow-up" not in chinese and "個月" in chinese
    assert "3" in simplified and "个月" in simplified and chinese != simplified


def test_parts_lists_days_typed_words_and_older_text(app):
    with app.test_request_context():
        closed = said("Case closed %(when)s (%(reason)s).", when=day(date(2026, 12, 2)),
                      reason=label("closure_reason", "goals_achieved"))
        assert text(closed) == "Case closed 2 Dec 2026 (Goals achieved)."
        assert text([said("worse than at closure"), words("typed; as is")]) == "worse than at closure; typed; as is"
        assert render("Older summary written as plain text") == "Older summary written as plain text"
        assert render(store(words("{not a message}"))) == "{not a message}"
        assert render('{"json": "but not ours"}') == '{"json": "but not ours"}'
        assert text(label("closure_reason", "no_such_code")) == "no_such_code"  # a code from a newer version
        assert text(call("no_such_function", 1)) == ""
        assert render(None) is None
        with force_locale("zh_Hant"):
            assert text(words("Mrs Chan")) == "Mrs Chan"
            assert "2026年12月2日" in text(said("Case closed %(when)s (%(reason)s).", when=day(date(2026, 12, 2)),
                                                reason="-"))


def test_an_inbound_referral_alert_reads_in_the_readers_language(app, db):
    with app.test_request_context():
        inbound.submit({"relation": "family", "referrer_name": "Ann Lee", "referrer_contact": "5550 1234",
                        "person_name": "Mr Wong", "concern": "Stopped eating after the flood.", "person_knows": "y"})
    db.session.commit()
    alert = db.session.scalar(select(Alert))
    assert "Mr Wong" not in (alert._summary or "")  # encrypted at rest
    with app.test_request_context():
        english = alert.summary_text
        with force_locale("zh_Hant"):
            chinese = alert.summary_text
    assert english.startswith("Referral for Mr Wong. From: Ann Lee [Family], contact 5550 1234.")
    assert "Stopped eating after the flood." in english
    assert "轉介對象：Mr Wong" in chinese and "Stopped eating after the flood." in chinese  # typed words as typed
    assert "Referral for" not in chinese and "Concern:" not in chinese


def test_the_triage_page_shows_the_summary_in_chinese(client, login_as, db):
    worker = login_as("counsellor", locale="zh_Hant")
    alert = raise_alert("screening", "urgent", team_id=worker.team_id,
                        summary=said("Self-screening %(instrument)s: band %(band)s; asks to be called (%(time)s).",
                                     instrument="PHQ-9", band=call("screening_band", "phq9", "moderate"),
                                     time=label("contact_time", "evening")))
    db.session.commit()
    page = client.get(f"/triage/{alert.id}").get_data(as_text=True)
    assert "自我篩查 PHQ-9" in page and "要求回電" in page
    assert "asks to be called" not in page and "band moderate" not in page
