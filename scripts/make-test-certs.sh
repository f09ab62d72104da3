#!/bin/sh
# Makes throw-away test certificates in DIR (created if missing) with openssl:
#   ca.pem / ca.key                    a test CA
#   server.pem / server.key            server certificate for 127.0.0.1 and localhost (SAN), signed by the CA
#   client.pem / client.key            client certificate signed by the CA
#   wrong-ca.pem / wrong-ca.key        a different CA
#   wrong-client.pem / wrong-client.key  client certificate signed by the different CA
# RSA 2048, PEM. Prints the file names it made, one per line.
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
command -v openssl >/dev/null 2>&1 || { echo "make-test-certs: openssl not found" >&2; exit 1; }
dir=$1
mkdir -p "$dir"
cd "$dir"

ca() { # name subject
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" -days 3650 \
        -subj "$2" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1
}
leaf() { # name subject ca extfile-content
    openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" >/dev/null 2>&1
    printf '%s\n' "$4" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -out "$1.pem" \
        -days 3650 -sha256 -extfile "$1.ext" >/dev/null 2>&1
    rm -f "$1.csr" "$1.ext"
}

ca ca "/CN=qssl test CA"
ca wrong-ca "/CN=qssl wrong CA"
leaf server "/CN=localhost" ca "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"
leaf client "/CN=qssl test client" ca "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
leaf wrong-client "/CN=qssl wrong client" wrong-ca "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
rm -f ./*.srl
for f in ca.pem ca.key server.pem server.key client.pem client.key wrong-ca.pem wrong-ca.key wrong-client.pem wrong-client.key; do
    test -s "$f" || { echo "make-test-certs: $f was not made" >&2; exit 1; }
    echo "$dir/$f"
done
