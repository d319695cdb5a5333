from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import signup_views, views
from .forms import LoginForm, QueuedPasswordResetForm

urlpatterns = [
    path("signup/", signup_views.signup, name="signup"),
    path("signup/sent/", signup_views.signup_sent, name="signup_sent"),
    path("signup/confirm/<str:token>/", signup_views.signup_link, name="signup_confirm"),
    path("signup/guardian/<str:token>/", signup_views.signup_guardian, name="signup_guardian"),
    path("login/", auth_views.LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True), name="login"),
    path("email/confirm/<str:token>/", views.email_change_confirm, name="email_change_confirm"),
    path("password_reset/", auth_views.PasswordResetView.as_view(form_class=QueuedPasswordResetForm), name="password_reset"),
    path("", include("django.contrib.auth.urls")),
]
