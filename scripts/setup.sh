#!/usr/bin/env bash
# Create .venv and install converter (plus optional extras: `setup.sh test`).
# Idempotent: a second run with an unchanged pyproject.toml installs nothing.
# As root on Debian bookworm it also installs the Vulkan loader and Mesa's software Vulkan
# driver from bookworm-backports (Mesa 25; bookworm's Mesa 22 lacks a feature LiteRT's GPU
# accelerator needs); elsewhere it says what it skipped and what that disables.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python="${PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $("$python" --version)"
  "$python" -m venv .venv
fi
stamp=".venv/.installed${extras:+-$extras}"
want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing converter${extras:+[$extras]} and its dependencies into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
  echo "$want" > "$stamp"
else
  echo "setup: .venv is up to date"
fi
# The TCN expansion's tests compare with keras-tcn itself. Its metadata asks for packages
# that would replace our TensorFlow, so it is installed without them (3.5.7 runs on ours).
if [ "$extras" = test ] && ! .venv/bin/python -c "import importlib.util, sys; \
    sys.exit(importlib.util.find_spec('tcn') is None)"; then
  echo "setup: installing keras-tcn 3.5.7 (without its dependencies) for the TCN tests"
  .venv/bin/python -m pip install --quiet --no-deps "keras-tcn==3.5.7"
fi

# The archive this machine already takes Debian's bookworm suite from (one-line .list or
# deb822 .sources entries), so backports come from the same mirror: none is named here.
debian_archive() {
  "$python" - <<'PY'
import glob, re
lists = glob.glob("/etc/apt/sources.list") + glob.glob("/etc/apt/sources.list.d/*.list")
for path in lists:
    for line in open(path, errors="replace"):
        m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm(\s|$)", line)
        if m:
            print(m.group(1)); raise SystemExit
for path in glob.glob("/etc/apt/sources.list.d/*.sources"):
    for stanza in re.split(r"\n\s*\n", open(path, errors="replace").read()):
        fields = dict(re.findall(r"(?m)^(\w[\w-]*):\s*(.*)$", stanza))
        if "deb" in fields.get("Types", "").split() and "bookworm" in fields.get("Suites", "").split():
            print(fields.get("URIs", "").split()[0]); raise SystemExit
PY
}

mesa_major() {
  dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | cut -d. -f1 | sed 's/^[0-9]*://'
}
codename="$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")"
if [ "$(mesa_major || true)" -ge 24 ] 2>/dev/null && dpkg-query -W libvulkan1 >/dev/null 2>&1; then
  echo "setup: Vulkan loader and Mesa $(mesa_major) software driver present"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ "$codename" = bookworm ]; then
  echo "setup: installing libvulkan1 and mesa-vulkan-drivers from bookworm-backports"
  list=/etc/apt/sources.list.d/converter-backports.list
  archive="$(debian_archive)"
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    if [ -n "$archive" ]; then
      echo "deb $archive bookworm-backports main" > "$list"
    else
      echo "setup: no apt source for Debian bookworm found to take bookworm-backports from"
    fi
  fi
  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      -t bookworm-backports libvulkan1 mesa-vulkan-drivers >/dev/null; then
    echo "setup: Mesa $(mesa_major) installed"
  else
    echo "setup: apt could not install the Vulkan driver; GPU-delegate runtimes will be skipped"
  fi
else
  echo "setup: skipped the Vulkan driver (needs root, apt and Debian bookworm);" \
       "the GPU-delegate parity runtimes (litert-gpu-*) will report 'skipped'"
fi
