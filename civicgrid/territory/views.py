from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse


@login_required
def grid_list(request):
    """The grid directory lives in the console (with teams); keep old links working."""
    query = request.GET.urlencode()
    return redirect(reverse("console:grids") + (f"?{query}" if query else ""), permanent=True)
