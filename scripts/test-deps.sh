#!/usr/bin/env bash
# Installs, on a Debian machine, the system packages the tests need, only when missing.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have openssl || need+=(openssl)
have softhsm2-util || need+=(softhsm2)
have pkcs11-tool || need+=(opensc)
have certtool || need+=(gnutls-bin)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
have gcc || need+=(gcc)
have pdfsig || need+=(poppler-utils)      # pdfsig judges PAdES, pdftotext reads reports
have qpdf || need+=(qpdf)                 # qpdf --check after our incremental updates
have xmlsec1 || need+=(xmlsec1)           # XML-DSig of the trusted list
have certutil || need+=(libnss3-tools)    # the NSS database pdfsig trusts
have curl || need+=(curl)                 # an independent HTTP client for the fast lane

if [ ${#need[@]} -eq 0 ]; then
  echo "test-deps: everything is installed"
  exit 0
fi
echo "test-deps: installing ${need[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
