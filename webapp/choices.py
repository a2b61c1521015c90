"""WTForms choices from (value, label) pairs, in the form WTForms 3.3 asks for."""

from wtforms.fields.choices import SelectChoice


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]
