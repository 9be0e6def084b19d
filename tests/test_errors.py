import pickle

import pytest

from ipdma import errors


def test_hierarchy():
    assert issubclass(errors.DataFileError, errors.InputError)
    assert issubclass(errors.FormulaError, errors.SpecError)
    assert issubclass(errors.RankDeficiencyError, errors.ModelError)
    for cls in (errors.InputError, errors.SpecError, errors.ModelError):
        assert issubclass(cls, errors.IpdmaError)
    for cls in (errors.ConvergenceWarning, errors.SingularFitWarning, errors.SeparationWarning):
        assert issubclass(cls, errors.IpdmaWarning)
        assert issubclass(cls, UserWarning)


def test_message_names_the_place_and_the_fix():
    err = errors.InputError(
        "value outside the instrument's range",
        trial="costa2009",
        file="costa.sav",
        variable="vas_3m",
        row=17,
        value=140.0,
        hint="VAS is 0-100 mm; check the unit in the spec",
    )
    text = str(err)
    for part in ("costa2009", "costa.sav", "vas_3m", "row 17", "140.0", "fix: VAS is 0-100 mm"):
        assert part in text


def test_errors_survive_pickling():  # raised in parallel workers, re-raised in the parent
    err = errors.SpecError("bad key", file="p.toml", hint="did you mean 'arms'?")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is errors.SpecError
    assert str(back) == str(err)
    assert back.hint == "did you mean 'arms'?"


def test_raises_as_exception():
    with pytest.raises(errors.IpdmaError, match="bad"):
        raise errors.ModelError("bad")
