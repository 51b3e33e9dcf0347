#!/bin/sh
# The image's one entrypoint, run by tini (PID 1, which forwards signals and reaps children):
#   web       gunicorn with uvicorn workers: HTTP and websockets (deploy/gunicorn.conf.py)
#   worker    an executor worker (manage.py run_worker; its options follow)
#   migrate   apply migrations, then create the first admin if there are no users yet
#   anything else is a manage.py command: createsuperuser, create_user, issue_token, verify_audit...
set -eu
command="${1:-web}"
[ "$#" -gt 0 ] && shift
case "$command" in
  web)
    exec gunicorn --config /app/deploy/gunicorn.conf.py "$@"
    ;;
  worker)
    exec python3 manage.py run_worker "$@"
    ;;
  migrate)
    python3 manage.py migrate --noinput "$@"
    exec python3 manage.py bootstrap_admin
    ;;
  *)
    exec python3 manage.py "$command" "$@"
    ;;
esac
