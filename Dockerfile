# The portal's image: web (gunicorn), Celery worker and beat all run from it.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY . .
RUN pip install -c requirements.lock -e .
RUN useradd --system --home /app portal && mkdir -p /app/var/witness && chown -R portal /app/var
USER portal
# collectstatic needs settings to load; a build-time key that is never used at run time.
RUN SECRET_KEY=build-only LOG_SIGNING_KEY=build-only DEBUG=false python manage.py collectstatic --no-input
EXPOSE 8000
CMD ["gunicorn", "fulfillmen.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
