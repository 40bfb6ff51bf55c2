#!/bin/sh
# pip inside the image build: trusts the CA bundle handed over as the build secret `pip_cert`
# (a TLS-inspecting proxy's), when one is given; the bundle never lands in a layer.
set -e
if [ -s /run/secrets/pip_cert ]; then
  export PIP_CERT=/run/secrets/pip_cert
fi
exec python -m pip "$@"
