from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext as _


class GuardedLoginMixin:
    """Say why a sign-in is refused while a login-guard limit holds (not "wrong password")."""

    def get_invalid_login_error(self):
        block = getattr(self.request, "login_guard_block", None)
        if block is None:
            return super().get_invalid_login_error()
        seconds = block.retry_after
        wait = (
            _("%(n)s seconds") % {"n": seconds}
            if seconds < 120
            else _("%(n)s minutes") % {"n": (seconds + 59) // 60}
        )
        if block.kind == "account":
            message = _(
                "Too many failed sign-ins for this account. Please wait %(wait)s and try again."
            )
        else:
            message = _(
                "Too many failed sign-ins from this network. Please wait %(wait)s and try again."
            )
        return forms.ValidationError(message % {"wait": wait}, code="throttled")


class LoginForm(GuardedLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(GuardedLoginMixin, AdminAuthenticationForm):
    pass
