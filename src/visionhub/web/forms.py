"""Forms of the pages. They check the shape of what a person typed; the rules (names, rights,
uniqueness) stay in the services, whose errors the views put back on the form."""

from __future__ import annotations

from django import forms

from visionhub.accounts.sharing import Access
from visionhub.datasets.models import Visibility


class DatasetForm(forms.Form):
    name = forms.SlugField(
        max_length=100, help_text="Lower-case letters, digits and dashes, unique among yours."
    )
    display_name = forms.CharField(max_length=200, required=False)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    visibility = forms.ChoiceField(choices=Visibility.choices, initial=Visibility.PRIVATE)
    img_width = forms.IntegerField(
        min_value=0, max_value=2**31 - 1, initial=0, label="Minimum width (pixels)"
    )
    img_height = forms.IntegerField(
        min_value=0, max_value=2**31 - 1, initial=0, label="Minimum height (pixels)"
    )
    maintain_ratio = forms.BooleanField(
        required=False, label="Images must keep the ratio width:height"
    )


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    access = forms.ChoiceField(choices=Access.choices, initial=Access.READ)


class GalleryFilter(forms.Form):
    """The gallery's filters, as the API's image list has them; all of them live in the URL."""

    label_set = forms.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    category = forms.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    flag = forms.TypedChoiceField(
        choices=[("", "any"), ("0", "none"), ("1", "positive"), ("2", "negative")],
        coerce=int,
        empty_value=None,
        required=False,
    )
    min_conf = forms.FloatField(min_value=0, max_value=1, required=False)
    max_conf = forms.FloatField(min_value=0, max_value=1, required=False)
    annotated = forms.TypedChoiceField(
        choices=[("", "any"), ("yes", "annotated"), ("no", "not annotated")],
        coerce=lambda v: v == "yes",
        empty_value=None,
        required=False,
    )
    position = forms.IntegerField(min_value=0, max_value=2**63 - 1, required=False)
    limit = forms.IntegerField(min_value=1, max_value=200, required=False)

    # The filters that select images (position only says where to start).
    SELECTING = ("label_set", "category", "flag", "min_conf", "max_conf", "annotated")
