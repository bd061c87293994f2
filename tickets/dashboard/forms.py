"""Dashboard forms: the board filters, lifecycle actions and self-registration."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.db.models import Q, QuerySet
from django.http import QueryDict

from tickets.models import Ticket
from tickets.vocabulary import ErrorClass, Severity, Source

ACTIONS = (
    ("acknowledge", "Acknowledge"),
    ("start_progress", "Take"),
    ("resolve", "Resolve"),
    ("reopen", "Reopen"),
)


def _with_blank(choices, label: str = "Any") -> list[tuple[str, str]]:
    return [("", label), *[(c, c) if isinstance(c, str) else c for c in choices]]


def _not_a_choice(choices) -> dict[str, str]:
    """The error of a value the field does not offer, listing what it offers (`%` doubled:
    Django formats the message with the value)."""
    offered = ", ".join(str(c).replace("%", "%%") for c in choices)
    return {"invalid_choice": f"“%(value)s” is not one of the choices: {offered}."}


class BoardFilterForm(forms.Form):
    """GET filters of the board. An invalid value is named (`problems()`): the board then shows
    no tickets rather than ones the filter did not select. A team is any name (one without
    tickets of the last days selects none)."""

    severity = forms.ChoiceField(
        required=False,
        choices=_with_blank(list(Severity)),
        error_messages=_not_a_choice(Severity),
    )
    source = forms.ChoiceField(
        required=False,
        choices=_with_blank(list(Source)),
        error_messages=_not_a_choice(Source),
    )
    error_type = forms.ChoiceField(
        required=False,
        label="Error class",
        choices=_with_blank(list(ErrorClass)),
        error_messages=_not_a_choice(ErrorClass),
    )
    team = forms.CharField(required=False, max_length=200)
    q = forms.CharField(required=False, max_length=200, label="Search")

    def __init__(self, *args: Any, teams: list[str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if teams is not None:
            asked = str(self.data.get("team") or "").strip() if self.is_bound else ""
            if asked and asked not in teams and len(asked) <= 200:
                teams = sorted([*teams, asked])
            self.fields["team"] = forms.CharField(
                required=False, max_length=200, widget=forms.Select(choices=_with_blank(teams))
            )
            self.fields["team"].widget.attrs.pop("maxlength", None)  # not an attribute of <select>

    def filters(self) -> dict[str, str]:
        """The valid, non-empty filters."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {
            name: str(cleaned[name]).strip()
            for name in self.fields
            if name not in self.errors and str(cleaned.get(name) or "").strip()
        }

    def problems(self) -> list[str]:
        """What is wrong with the filters, one line per invalid field or parameter, naming it."""
        self.is_valid()
        return [
            *self._parameter_problems(),
            *(
                f"{self._label(name)}: {message}"
                for name, messages in self.errors.items()
                if name in self.fields
                for message in messages
            ),
        ]

    def _label(self, name: str) -> str:
        return str(self.fields[name].label or name.capitalize())

    def _parameter_problems(self) -> list[str]:
        """A parameter the board does not take (`?status=`, `?search=`: the API's names) showed
        every ticket as if filtered, and a filter given twice the last value's tickets; the API
        and the charts page refuse both, naming them, and so does the board."""
        if not isinstance(self.data, QueryDict):
            return []
        problems = []
        for name, values in self.data.lists():
            if name not in self.fields:
                taken = ", ".join(f"?{field}=" for field in self.fields)
                problems.append(f"?{name[:40]}= is not a filter of the board; it takes {taken}.")
            elif len(values) > 1:
                problems.append(f"{self._label(name)}: given {len(values)} times; pick one.")
        return problems

    def apply(self, queryset: QuerySet[Ticket], search: bool = True) -> QuerySet[Ticket]:
        """The tickets that match the filters; without `search`, all but the search text's."""
        filters = self.filters()
        if not search:
            filters.pop("q", None)
        for name in ("severity", "source", "error_type"):
            if name in filters:
                queryset = queryset.filter(**{name: filters[name]})
        if "team" in filters:
            queryset = queryset.filter(finops_team=filters["team"])
        if "q" in filters:
            text = filters["q"]
            queryset = queryset.filter(
                Q(pipeline__icontains=text)
                | Q(id__icontains=text)
                | Q(itsm_ticket_id__iexact=text)
                | Q(error_message__icontains=text)
            )
        return queryset


# A text field's problems in the words the page says them in, after the field's name.
TEXT_ERRORS = {
    "null_characters_not_allowed": "it cannot hold a NUL character",
    "max_length": "at most %(limit_value)d characters (it has %(show_value)d)",
}


class ActionForm(forms.Form):
    """A form of an action whose problems are named, field by field (`problems()`)."""

    def problems(self) -> str:
        """What is wrong, one clause per invalid field, naming it ('' when nothing is)."""
        if self.is_valid():
            return ""
        return "; ".join(
            f"{self.fields[name].label or name.capitalize()}: {message}"
            for name, messages in self.errors.items()
            if name in self.fields
            for message in messages
        )


class TransitionForm(ActionForm):
    """A lifecycle action on the ticket page or, once for every member, the incident page.
    What is wrong is named (`problems()`), not answered as an unknown action."""

    action = forms.ChoiceField(
        choices=ACTIONS,
        error_messages={"required": "none chosen", "invalid_choice": "“%(value).40s” is no action"},
    )
    note = forms.CharField(required=False, max_length=1000, error_messages=TEXT_ERRORS)
    fix = forms.CharField(
        required=False, max_length=8000, label="What fixed it", error_messages=TEXT_ERRORS
    )


class RemediationDecisionForm(ActionForm):
    """Approve / Decline / Retry on the ticket page, with the note kept with it. The
    remediation the page showed is read by the view (one no longer shown is not decided)."""

    decision = forms.ChoiceField(
        choices=(("approve", "Approve"), ("decline", "Decline"), ("retry", "Retry")),
        error_messages={
            "required": "none chosen",
            "invalid_choice": "“%(value).40s” is no decision",
        },
    )
    note = forms.CharField(required=False, max_length=1000, error_messages=TEXT_ERRORS)


class RegistrationForm(UserCreationForm):
    email = forms.EmailField(required=True)

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def save(self, commit: bool = True):
        user = super().save(commit=False)
        user.email = self.cleaned_data["email"]
        # An admin activates new accounts in Django admin; until then they cannot sign in.
        user.is_active = False
        if commit:
            user.save()
        return user
