"""Client pages under /portal/data/ and the public request form under /requests/; each views module lists its own."""

from .views import appeals, changes, data, erasure, export, public

app_name = "rights"
urlpatterns = [*data.urlpatterns, *export.urlpatterns, *changes.urlpatterns, *erasure.urlpatterns,
               *public.urlpatterns, *appeals.urlpatterns]
