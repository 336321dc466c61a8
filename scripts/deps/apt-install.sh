# Sourced by scripts/setup, sanitize, fuzz, bench_msa and gpu_check_bare (which define `say`):
#   install_debian_packages LIST...
# installs the `name=version` lines of the LIST files (scripts/deps/apt*.txt; `#` comments, blank lines;
# a bare `name` takes any version) that are not installed, at the pinned version. Nothing to do: one
# dpkg-query call, no apt-get and no root needed. Otherwise apt-get update and install (root, or sudo);
# when the archive lacks a pin (a Debian point release replaced it), the archive's version with a warning.
# A package installed at another version than its pin is named, and kept (never downgraded: it may be a
# security update; the pins are what CI builds and tests with).
install_debian_packages() {
  local specs=() names=() todo=() spec name status version sudo_cmd=()
  local -A have=()
  while read -r spec; do
    [[ -z "$spec" || "$spec" == \#* ]] && continue
    specs+=("$spec"); names+=("${spec%%=*}")
  done < <(cat "$@")
  ((${#specs[@]})) || return 0
  while IFS=$'\t' read -r name status version; do
    [[ "$status" == "install ok installed" ]] && have["$name"]="$version"
  done < <(dpkg-query -W -f='${Package}\t${Status}\t${Version}\n' "${names[@]}" 2>/dev/null || true)
  for spec in "${specs[@]}"; do
    name="${spec%%=*}"
    if [[ -z "${have[$name]+set}" ]]; then
      todo+=("$spec")
    elif [[ "$spec" == *=* && "${have[$name]}" != "${spec#*=}" ]]; then
      say "note: $name ${have[$name]} is installed, the pin is ${spec#*=} (kept as installed)"
    fi
  done
  ((${#todo[@]})) || return 0
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { say "need root or sudo to install Debian packages: ${todo[*]}"; exit 1; }
    sudo_cmd=(sudo)
  fi
  say "installing Debian packages: ${todo[*]}"
  local apt=("${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
  "${apt[@]}" update -qq
  if ! "${apt[@]}" install -y -qq --no-install-recommends "${todo[@]}" >/dev/null; then
    say "warning: pinned versions not all available; installing the archive's versions" \
        "(update the pins in ${*#"$root/"})"
    "${apt[@]}" install -y -qq --no-install-recommends "${todo[@]%%=*}" >/dev/null
  fi
}
