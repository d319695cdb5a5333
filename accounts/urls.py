from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views
from .forms import LoginForm, QueuedPasswordResetForm

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", auth_views.LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True), name="login"),
    path("password_reset/", auth_views.PasswordResetView.as_view(form_class=QueuedPasswordResetForm), name="password_reset"),
    path("", include("django.contrib.auth.urls")),
]
