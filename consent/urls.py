from django.urls import path

from . import do_not_sell_views, policy_views, views

app_name = "consent"

CHOICES = "portal/choices/"
DO_NOT_SELL = "do-not-sell-or-share/"

urlpatterns = [
    path(CHOICES, views.choices, name="choices"),
    path(CHOICES + "history/", views.history, name="history"),
    path(CHOICES + "receipts/<uuid:receipt_id>.json", views.receipt_download, name="receipt"),
    path(CHOICES + "policy/<str:label>/", policy_views.policy_answer, name="policy_answer"),
    path(CHOICES + "<slug:code>/", views.choice_change, name="change"),
    # Public, linked from every page's footer (CCPA 1798.135(a)).
    path(DO_NOT_SELL, do_not_sell_views.do_not_sell, name="do_not_sell"),
    path(DO_NOT_SELL + "opt-out/", do_not_sell_views.do_not_sell_withdraw, name="do_not_sell_withdraw"),
    path(DO_NOT_SELL + "request/", do_not_sell_views.do_not_sell_request, name="do_not_sell_request"),
    path(DO_NOT_SELL + "sent/", do_not_sell_views.do_not_sell_sent, name="do_not_sell_sent"),
    path(DO_NOT_SELL + "confirm/<str:token>/", do_not_sell_views.do_not_sell_confirm, name="do_not_sell_confirm"),
]
