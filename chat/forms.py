"""Forms of the chat pages: a message to send and a conversation's new title."""

from __future__ import annotations

from django import forms

MESSAGE_LENGTH = 20_000
MODEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$"


class MessageForm(forms.Form):
    text = forms.CharField(max_length=MESSAGE_LENGTH, strip=True, widget=forms.Textarea(attrs={"rows": 3}))
    model = forms.RegexField(
        regex=MODEL_PATTERN,
        required=False,
        error_messages={"invalid": "pick a model from the list, or leave it on the default"},
    )

    def clean_text(self) -> str:
        text = self.cleaned_data["text"]
        if not text:
            raise forms.ValidationError("write a message first")
        return text


class RenameForm(forms.Form):
    title = forms.CharField(max_length=120, strip=True)
