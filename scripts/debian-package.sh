# Sourced by scripts/setup-*.sh: install one Debian package unless its program is there.
#
#   ensure_debian_package TAG PROGRAM PACKAGE PURPOSE [no-services]
#
# Returns 0 when PROGRAM is installed (or has just been), 1 with the command to run when it
# is missing and this is not root on Debian. `no-services` keeps the package from starting a
# system-wide service while it installs (policy-rc.d): the tests start their own.
ensure_debian_package() {
    local tag=$1 program=$2 package=$3 purpose=$4 no_services=${5:-}
    if [ -x "$program" ]; then
        echo "$tag: $program is installed"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "$tag: $purpose need Debian's $package: sudo apt-get install -y $package" >&2
        return 1
    fi
    echo "$tag: installing $package from Debian's packages ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    local policy=/usr/sbin/policy-rc.d made_policy=""
    if [ "$no_services" = "no-services" ] && [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
        made_policy=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT  # also when the install is interrupted
    fi
    local status=0
    apt-get install -y -qq "$package" >/dev/null || status=$?
    if [ -n "$made_policy" ]; then
        rm -f "$policy"
    fi
    return "$status"
}
