#!/usr/bin/env bash
# Builds use_zrec.c, use_zsock.c, use_freertos.c, use_esp_tls.c, use_riot.c and use_dpdk.c the way a gateway author builds against
# zrec: the compiler, pkg-config and zrec's .pc files, nothing else.
#
#   pkgconfig.sh MODE PKG_CONFIG MESON BUILDDIR SRCDIR WOLFSSL_PREFIX WOLFSSL_INCDIR SANITIZE CC...
#     MODE uninstalled: PKG_CONFIG_PATH=BUILDDIR/meson-uninstalled only.
#     MODE installed:   `meson install --destdir` into a temporary stage; its
#       pkgconfig dir only on PKG_CONFIG_PATH and PKG_CONFIG_SYSROOT_DIR=stage,
#       pkg-config's own way to use a DESTDIR tree as if it were installed
#       (libdpdk's include dirs linked into it)
#       (--define-prefix cannot: with a multiarch libdir such as
#       lib/x86_64-linux-gnu it takes <stage>/usr/local/lib for the prefix).
#     WOLFSSL_PREFIX, WOLFSSL_INCDIR: the bootstrap's wolfSSL (the headers
#       libzrec was built with; the cache no installed file may name).
#     SANITIZE: meson's b_sanitize; a program linking sanitized libraries is
#       built with the same -fsanitize.
#     CC...: the C compiler meson found.
set -euo pipefail
mode=$1 pkgconfig=$2 meson=$3 build=$4 src=$5 wolfssl_prefix=$6 wolfssl_inc=$7 sanitize=$8
shift 8
cc=("$@")
here=$(cd "$(dirname "$0")" && pwd)
cache=$(dirname "$wolfssl_prefix")

work=$(mktemp -d /tmp/zrec-pkgconfig.XXXXXX)
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL ($mode): $*" >&2; exit 1; }
t() { timeout 120 "$@"; }
pc() { t "$pkgconfig" "$@"; }

san=()
[ "$sanitize" = none ] || san=("-fsanitize=$sanitize")

# Nothing from the caller's pkg-config set-up (tools/setup puts the cache's
# pkgconfig dir on PKG_CONFIG_PATH): only what the mode gives.  The default
# system path stays (liburing.pc and the like are there).
for v in $(env | sed -n 's/^\(PKG_CONFIG[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
# meson test points LD_LIBRARY_PATH at the build tree: the programs get only
# the -L dirs of the .pc files.
unset LD_LIBRARY_PATH

case $mode in
  uninstalled)
    export PKG_CONFIG_PATH=$build/meson-uninstalled
    stage=
    ;;
  installed)
    stage=$work/stage
    t "$meson" install --no-rebuild --quiet -C "$build" --destdir "$stage" >"$work/install.log" 2>&1 ||
      { cat "$work/install.log" >&2; fail "meson install"; }
    pcfile=$(find "$stage" -path '*/pkgconfig/zrec.pc')
    if [ -z "$pcfile" ] || [ "$(wc -l <<<"$pcfile")" != 1 ]; then fail "zrec.pc installed: '$pcfile'"; fi
    pcdir=$(dirname "$pcfile")
    [ -f "$pcdir/zrec-zsock.pc" ] || fail "no zrec-zsock.pc beside $pcfile"
    [ -f "$pcdir/zrec-dpdk.pc" ] || fail "no zrec-dpdk.pc beside $pcfile"
    for f in "$pcdir/zrec.pc" "$pcdir/zrec-zsock.pc" "$pcdir/zrec-dpdk.pc"; do
      for p in "$src" "$build" "$cache"; do
        if grep -qF "$p" "$f"; then cat "$f" >&2; fail "$f names $p"; fi
      done
    done
    # zrec-dpdk.pc requires the system's libdpdk.pc, whose include dirs the
    # sysroot moves into the stage too: there they lead back to the
    # system's (as on a machine where both are installed).
    for d in $(pc --cflags-only-I libdpdk | tr ' ' '\n' | sed -n 's/^-I//p'); do
      real=$(realpath -m "$d")
      mkdir -p "$stage$(dirname "$real")"
      [[ $(realpath "$stage$(dirname "$real")") == "$stage"/* ]] || fail "$d: outside the stage"
      [ -e "$stage$real" ] || ln -s "$real" "$stage$real"
    done
    export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$stage
    ;;
  *) fail "unknown mode" ;;
esac

for m in zrec zrec-zsock zrec-dpdk; do
  pc --print-errors --exists "$m" || fail "pkg-config $m"
  pc --print-errors --static --cflags --libs "$m" >/dev/null || fail "pkg-config --static $m"
  reqs=$(pc --print-requires --print-requires-private "$m")
  if grep -qiw wolfssl <<<"$reqs"; then fail "$m requires wolfssl.pc: $reqs"; fi
  echo "pkg-config --cflags --libs $m: $(pc --cflags --libs "$m")"
done

# Include dirs: never a source directory, never one that reaches a private
# header; installed, nothing outside the stage and no path of the source tree,
# the build tree or the bootstrap's cache.
for f in $(pc --static --cflags --libs zrec zrec-zsock zrec-dpdk); do
  case $f in -I*|-L*) d=${f:2} ;; *) continue ;; esac
  if [ "${f:0:2}" = -I ]; then
    case $d in */src|*/src/*) fail "private include dir $d" ;; esac
    for h in "$src"/engine/src/*.h "$src"/facade/src/*.h; do
      if [ "$d/$(basename "$h")" -ef "$h" ]; then fail "$d reaches the private header $h"; fi
    done
  fi
  if [ -n "$stage" ]; then
    [[ $d == "$stage"/* ]] || fail "$f: outside the staged prefix"
    rel=${d#"$stage"}
    for p in "$src" "$build" "$cache"; do
      if [[ $rel == *"$p"* ]]; then fail "$f names $p"; fi
    done
  fi
done

# <wolfssl/options.h> must be the one libzrec was built with.
cflags_zrec=$(pc --cflags zrec)
# shellcheck disable=SC2086
t "${cc[@]}" $cflags_zrec -M "$here/use_zrec.c" >"$work/use_zrec.d" || fail "cc -M use_zrec.c"
options_h=$(tr ' \\' '\n\n' <"$work/use_zrec.d" | grep '/wolfssl/options\.h$' | head -1)
[ -n "$options_h" ] || fail "no wolfssl/options.h in use_zrec.c's dependencies"
if [ -n "$stage" ]; then
  [[ $options_h == "$stage"/* ]] || fail "wolfssl/options.h from $options_h, not from the stage"
  cmp -s "$options_h" "$wolfssl_inc/wolfssl/options.h" ||
    fail "$options_h differs from $wolfssl_inc/wolfssl/options.h"
  [ ! -e "$(dirname "$options_h")/internal.h" ] || fail "wolfSSL's internal.h installed"
else
  [ "$options_h" -ef "$wolfssl_inc/wolfssl/options.h" ] ||
    fail "wolfssl/options.h from $options_h, not from $wolfssl_inc"
fi

# Build, check where the libraries resolve (the -L dirs the .pc files give),
# run.
libpath=$(pc --libs-only-L zrec zrec-zsock zrec-dpdk | tr ' ' '\n' | sed -n 's/^-L//p' | paste -sd:)
[ -n "$libpath" ] || fail "no -L in the .pc files"
for prog in use_zrec:zrec use_zsock:zrec-zsock use_freertos:zrec-zsock use_esp_tls:zrec-zsock use_riot:zrec-zsock use_dpdk:zrec-dpdk; do
  name=${prog%%:*} mod=${prog#*:}
  # shellcheck disable=SC2046
  t "${cc[@]}" "${san[@]}" $(pc --cflags "$mod") "$here/$name.c" -o "$work/$name" \
    $(pc --libs "$mod") || fail "cc $name.c with pkg-config $mod"
  LD_LIBRARY_PATH=$libpath t ldd "$work/$name" >"$work/$name.ldd" || fail "ldd $name"
  for lib in libzrec.so libzrec-zsock.so libzrec-dpdk.so; do
    [ "$mod" != zrec-zsock ] && [ $lib = libzrec-zsock.so ] && continue
    [ "$mod" != zrec-dpdk ] && [ $lib = libzrec-dpdk.so ] && continue
    so=$(awk -v l="$lib" '$1 == l || index($1, l ".") == 1 { print $3 }' "$work/$name.ldd")
    [ -n "$so" ] || { cat "$work/$name.ldd" >&2; fail "$name: $lib not resolved"; }
    ok=0
    IFS=: read -ra dirs <<<"$libpath"
    for d in "${dirs[@]}"; do [ "$(dirname "$so")" -ef "$d" ] && ok=1; done
    [ $ok = 1 ] || fail "$name: $lib resolved to $so, not in $libpath"
  done
  LD_LIBRARY_PATH=$libpath t "$work/$name" >"$work/$name.out" || { cat "$work/$name.out"; fail "$name failed"; }
  cat "$work/$name.out"
  [ "$(tail -n 1 "$work/$name.out")" = ok ] || fail "$name: no ok"
done
grep -qE '^provider (ipsecmb|wolfcrypt), tls13 overhead 5\+17, suite 13,01 carried$' \
  "$work/use_zrec.out" || fail "use_zrec: unexpected output"
grep -qx 'uring pool: 4 record slots ready' "$work/use_zrec.out" || fail "use_zrec: no uring pool"
grep -qx 'FreeRTOS Secure Sockets: 10.0.0.1' "$work/use_freertos.out" || fail "use_freertos: unexpected output"
grep -qx 'ESP-TLS: ESP_ERR_MBEDTLS_SSL_SETUP_FAILED' "$work/use_esp_tls.out" || fail "use_esp_tls: unexpected output"
grep -qx 'RIOT sock_dtls: recv -EAGAIN' "$work/use_riot.out" || fail "use_riot: unexpected output"
echo "pkgconfig-$mode: ok"
