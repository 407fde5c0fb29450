#!/bin/sh
# Nightly watch of a lock: mail what is new on the index since the last run.
#
#   crontab:  17 3 * * *  cd /srv/constraints && ./audit-cron.sh
#
# `--state` remembers what was reported, so a finding is mailed once (and its resolution once);
# the exit status is 1 only when something new is at or above --fail-on.
set -eu
LOCK=${LOCK:-pylock.toml}
RELEASES=${RELEASES:-../openstack-releases}     # a checkout of openstack/releases
TO=${TO:-release-team@example.org}

git -C "$RELEASES" pull --quiet --ff-only
if pinguard audit "$LOCK" --releases "$RELEASES" --policy pinguard-policy.toml \
        --state audit-state.json --fail-on warning --format markdown > audit-report.md; then
    exit 0                                         # nothing new
else
    status=$?
    [ "$status" -eq 1 ] || exit "$status"          # 2: the audit could not run; cron mails stderr
    mail -s "pinguard audit: new findings for $LOCK" "$TO" < audit-report.md
fi
