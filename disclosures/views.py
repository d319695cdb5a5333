"""The public transparency report (no login): the page with its chart, and the same numbers as CSV.

Anyone may read how often authorities asked for client data and how often they got some; the numbers come only from
`report.py`, which publishes small counts as bands and never exposes an exact count below the threshold.
"""

import csv

from django import forms
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _

from .report import band_below, band_label, transparency_chart, transparency_csv_rows, transparency_report


class PeriodForm(forms.Form):
    """`?period=2026-H1`: one reported half-year, or all of them when left out. Other parameters are ignored."""

    def __init__(self, *args, half_years, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"] = forms.ChoiceField(
            label=_("Half-year"), required=False,
            choices=[("", _("All half-years"))] + [(h.key, h.label) for h in half_years],
            error_messages={"invalid_choice": _("There is no reported half-year “%(value)s”: choose one from the list "
                                                "(for example 2026-H1).")})


def _chosen(request):
    """The form, the reported half-years to show, and the one chosen ("" for all)."""
    periods = transparency_report()
    form = PeriodForm(request.GET or None, half_years=[p.half_year for p in periods])
    chosen = form.cleaned_data["period"] if form.is_bound and form.is_valid() else ""
    return form, ([p for p in periods if p.half_year.key == chosen] if chosen else periods), chosen


def transparency_page(request):
    form, periods, chosen = _chosen(request)
    context = {"form": form, "periods": periods, "chart": transparency_chart(periods), "threshold": band_below(),
               "band": band_label(), "chosen": chosen}
    return render(request, "disclosures/transparency.html", context, status=400 if form.errors else 200)


def transparency_csv(request):
    form, periods, chosen = _chosen(request)
    if form.errors:
        return HttpResponseBadRequest(" ".join(form.errors["period"]), content_type="text/plain; charset=utf-8")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"fulfillmen-transparency-report-{chosen}.csv" if chosen else "fulfillmen-transparency-report.csv"
    response["Content-Disposition"] = content_disposition_header(True, name)
    csv.writer(response).writerows(transparency_csv_rows(periods))
    return response
