"""Printing notices: one line for the same notice about several trials."""

from ipdma.harmonize._notices import grouped_notices


def test_same_notice_about_several_trials_is_one_line_naming_them():
    text = "no participant is in a comparison arm (every arm is exercise), so the trial cannot"
    notices = [f"trial a: {text}", "trial b: outcomes.pain: over 5 years", f"trial c: {text}",
               f"trial a: {text}", "a notice about no trial"]  # fmt: skip
    assert grouped_notices(notices) == [
        "trials a, c: no participant is in a comparison arm (every arm is exercise), so they "
        "cannot",
        "trial b: outcomes.pain: over 5 years",
        "a notice about no trial",
    ]
    assert grouped_notices([]) == []
