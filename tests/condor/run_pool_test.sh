#!/usr/bin/env bash
# HTCondor pool test (issue 7, items 3 and 4): bring up a personal HTCondor pool on this
# machine, run a small benchmark DAG through it with `--profile profiles/htcondor`, check the
# outputs and that only training asked for a GPU, check that a failed job is retried and that
# a held job fails the run with its hold reason, then stop the pool and leave nothing behind.
#
#   sudo bash tests/condor/run_pool_test.sh        # from anywhere; needs root
#
# How: Debian trixie has HTCondor (`condor` + `minicondor` 23.9.6); this image does not. The
# script builds a trixie chroot with debootstrap (cached in $INNFER_CONDOR_ROOT, default
# /tmp/innfer-condor, and reused while healthy), installs the project's dependencies into a
# venv there, and runs the pool inside `unshare -m` + `chroot`, where only /proc is mounted
# (a private mount namespace: the mount dies with the pool). /dev is never bind-mounted.
# The pool listens on 127.0.0.1 only, advertises one simulated GPU, and jobs are submitted
# by the non-root `submituser` (the schedd refuses root) with an IDTOKEN.
#
# Prints "SKIP: <reason>" and exits 0 where the machine cannot host the pool (not root, no
# unshare/chroot/mount rights, no debootstrap, no network to the Debian mirror or PyPI for a
# build, port 9618 taken). Exits non-zero when any check fails. Ends with a summary block.
#
# Environment: INNFER_CONDOR_ROOT (chroot dir), INNFER_CONDOR_LOGS (copies of the logs,
# default /tmp/innfer-condor-logs), INNFER_DEBIAN_MIRROR (default: from /etc/apt/sources),
# INNFER_CONDOR_REBUILD=1 (rebuild the chroot), INNFER_CONDOR_TIMEOUT (seconds for the pool
# part, default 2400).
#
# Internally the same file runs in three more roles: `--inside build|pool` (root in the
# chroot) and `--as-user dag|retry|hold` (submituser in the chroot).
set -euo pipefail

SUITE=trixie
CI=/opt/innfer-ci # inside the chroot: this script, the repo copy (src/), outputs (out/)
VENV=/opt/venv
HOLD_REASON="innfer-ci: held on purpose" # tests/condor/failures/Snakefile
ANALYSIS=Benchmark_Dim1Gaussian

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# ======================================================================= inside the chroot

# The pool's configuration. Each line fixes a failure seen on this kind of machine without it.
pool_config() {
  cat <<'CFG'
# tests/condor/run_pool_test.sh: a loopback-only personal pool for CI.
ENABLE_IPV6 = False
NETWORK_INTERFACE = 127.0.0.1
BIND_ALL_INTERFACES = False
# The starter's private /tmp needs unshare(CLONE_NEWNS) per job: refused here (errno=22 holds).
MOUNT_UNDER_SCRATCH =
USE_PID_NAMESPACES = False
# One simulated GPU: request_gpus = 1 jobs match and get CUDA_VISIBLE_DEVICES; TF runs on CPU.
use feature : GPUs
GPU_DISCOVERY_EXTRA = $(GPU_DISCOVERY_EXTRA) -simulate:2,1
# Fast matchmaking (stock intervals double a short DAG's wall time).
NEGOTIATOR_INTERVAL = 1
NEGOTIATOR_CYCLE_DELAY = 1
SCHEDD_INTERVAL = 1
STARTER_UPDATE_INTERVAL = 2
NUM_CPUS = 4
# Advertised, not enforced (cgroups are read-only here): independent of the host's RAM.
MEMORY = 32768
CFG
}

# Python packages of the chroot venv: the project's pins (pyproject.toml), for Python 3.13.
# `tensorflow` becomes `tensorflow-cpu` (half the download, same version); tf-keras is
# installed without dependencies, since it would pull the full `tensorflow` wheel back in.
requirements() {
  python3 - "$CI/src/pyproject.toml" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
reqs = list(project["dependencies"]) + project["optional-dependencies"]["cluster"]
main, nodeps = [], []
for r in reqs:
    name = r.split("==")[0].split("[")[0].strip().lower()
    if name == "tensorflow":
        main.append("tensorflow-cpu==" + r.split("==")[1])
    elif name == "tf-keras":
        nodeps.append(r)
    else:
        main.append(r)
print(" ".join(main))
print(" ".join(nodeps))
PY
}

inside_build() {
  export DEBIAN_FRONTEND=noninteractive
  local packages="condor minicondor python3 python3-venv procps passwd util-linux"
  if [ ! -e "$CI/stamps/apt-ok" ]; then
    # No service starts during package installation (the pool is started by hand).
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    echo "== apt-get install $packages (log: $CI/apt.log)"
    # shellcheck disable=SC2086
    if ! { apt-get update -q && apt-get install -y -q --no-install-recommends $packages; } >"$CI/apt.log" 2>&1; then
      tail -n 30 "$CI/apt.log"
      return 1
    fi
    apt-get clean
    mkdir -p "$CI/stamps" && touch "$CI/stamps/apt-ok"
  fi
  local reqs main nodeps hash
  reqs=$(requirements)
  main=$(sed -n 1p <<<"$reqs")
  nodeps=$(sed -n 2p <<<"$reqs")
  hash=$(printf '%s\n' "$reqs" "$(python3 --version)" | sha256sum | cut -c1-16)
  if [ ! -e "$VENV/.innfer-requirements-$hash" ]; then
    echo "== venv: installing (Python $(python3 --version | cut -d' ' -f2)): $main; no deps: $nodeps"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    # shellcheck disable=SC2086
    PIP_CERT=$CI/host-ca.crt "$VENV/bin/pip" install -q --disable-pip-version-check $main
    # shellcheck disable=SC2086
    PIP_CERT=$CI/host-ca.crt "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps $nodeps
    TF_CPP_MIN_LOG_LEVEL=3 "$VENV/bin/python" -c "import snakemake, snakemake_executor_plugin_htcondor, \
htcondor2, tensorflow, tf_keras, tensorflow_probability, iminuit, pandas, pyarrow, matplotlib, uproot" \
      2>/dev/null || {
      echo "the venv does not import"
      return 1
    }
    touch "$VENV/.innfer-requirements-$hash"
  fi
  "$VENV/bin/python" -c "import snakemake, snakemake_executor_plugin_htcondor, htcondor2"
  command -v condor_master >/dev/null
}

FAILS=0
OUT=$CI/out
result() { printf '%s=%s\n' "$1" "$(printf '%s' "$2" | tr '\n' ' ')" >>"$OUT/results.env"; }
pass() { echo "PASS: $*"; }
fail() {
  echo "FAIL: $*"
  FAILS=$((FAILS + 1))
}
check() { # check "description" command...: PASS/FAIL line; returns 1 on FAIL
  local what=$1
  shift
  if "$@"; then pass "$what"; else
    fail "$what"
    return 1
  fi
}
as_user() { runuser -l submituser -c "bash $CI/run_pool_test.sh --as-user $1"; }
condor_pids() { pgrep 'condor_' || true; }

stop_pool() {
  [ -z "${POOL_STOPPING:-}" ] || return 0
  POOL_STOPPING=1
  [ -n "${POOL_STARTED:-}" ] || return 0
  local t0 i
  t0=$(now)
  # Held clusters stay in the queue (the plugin does not remove them): clear the queue first.
  condor_rm -all >/dev/null 2>&1 || true
  condor_off -master >/dev/null 2>&1 || true
  for i in $(seq 1 240); do
    [ -z "$(condor_pids)" ] && break
    sleep 0.5
  done
  result POOL_STOP_S "$(secs "$t0" "$(now)")"
  result DAEMONS_LEFT_INSIDE "$(condor_pids | wc -l)"
  cp -r /var/log/condor "$OUT/condor-daemon-logs" 2>/dev/null || true
  result FAILS "$FAILS"
}

inside_pool() {
  set +e # a failed check is counted, and the later ones still run
  rm -rf "$OUT" && mkdir -p "$OUT"
  trap 'exit 143' TERM INT
  trap stop_pool EXIT

  # ------------------------------------------------------------ start a fresh pool
  pool_config >/etc/condor/config.d/99-innfer-ci
  # A fresh queue, history (cluster ids from 1) and logs on every run of a reused chroot.
  local d
  for d in SPOOL EXECUTE LOG; do
    d=$(condor_config_val "$d") && [ -d "$d" ] && find "$d" -mindepth 1 -delete
  done
  install -d -o condor -g condor /var/run/condor /var/lock/condor /var/log/condor
  local t0 ready="" i
  t0=$(now)
  POOL_STARTED=1
  condor_master
  # Ready: the startd's slot (4 CPUs, 1 GPU) is in the collector and the schedd answers.
  for i in $(seq 1 360); do
    if condor_status -af Name Cpus GPUs 2>/dev/null | awk '$3 >= 1 { ok = 1 } END { exit !ok }' &&
      condor_q -totals >/dev/null 2>&1; then
      ready=1
      break
    fi
    sleep 0.5
  done
  result POOL_START_S "$(secs "$t0" "$(now)")"
  if [ -z "$ready" ]; then
    fail "pool did not come up in 180 s"
    return 1
  fi
  condor_status -af Name Cpus GPUs Memory | tee "$OUT/condor_status.txt"
  pass "pool up in $(secs "$t0" "$(now)") s: $(head -1 "$OUT/condor_status.txt")"

  # ------------------------------------------------------------ the submit user
  id submituser >/dev/null 2>&1 || useradd -m -s /bin/bash submituser
  local home=/home/submituser
  rm -rf "$home/innfer" "$home/failures" "$home/.condor"
  install -d -o submituser -g submituser -m 700 "$home/.condor" "$home/.condor/tokens.d"
  condor_token_create -identity "submituser@$(condor_config_val UID_DOMAIN)" \
    >"$home/.condor/tokens.d/ci"
  chown submituser: "$home/.condor/tokens.d/ci" && chmod 600 "$home/.condor/tokens.d/ci"
  cp -a "$CI/src" "$home/innfer" && chown -R submituser: "$home/innfer"
  install -d -o submituser "$OUT/user" # the user steps write their results here

  # ------------------------------------------------------------ the benchmark DAG
  as_user dag || true
  local log=$home/dag.log dag_rc
  cp "$log" "$OUT/dag.log" 2>/dev/null || true
  dag_rc=$(cat "$OUT/user/dag.rc" 2>/dev/null || echo missing)
  result DAG_RC "$dag_rc"
  result DAG_WALL_S "$(cat "$OUT/user/dag.wall" 2>/dev/null || echo NA)"
  check "benchmark DAG exits 0 (rc=$dag_rc)" test "$dag_rc" = 0
  check "both profiles and the workflow profile are used" grep -q \
    "Using profiles profiles/htcondor and tests/condor/profile and workflow specific profile profiles/default" "$log"
  check "every step done" grep -q "steps (100%) done" "$log"
  local res=$home/innfer/results/$ANALYSIS
  for f in summary/closure/summary.yaml summary/closure/chi_squared.yaml tables/closure.csv \
    plots/summary/closure/summary.pdf models/Gaussian/inclusive/learned/weights.npz \
    fits/closure/learned/val_3/result.yaml fits/closure/learned/val_6/result.yaml; do
    check "output $f" test -s "$res/$f"
  done
  local submitted
  submitted=$(grep -c "submitted to HTCondor Cluster ID" "$log" || true)
  result DAG_JOBS_SUBMITTED "$submitted"

  # ------------------------------------------------------------ who asked for a GPU
  # The schedd writes a job's history record as it leaves the queue: wait for all of them.
  local hist=$OUT/condor_history.txt
  for i in $(seq 1 60); do
    condor_history -af:, ClusterId JobBatchName RequestGPUs AssignedGPUs RequestMemory ExitCode \
      >"$hist" 2>/dev/null || true
    [ "$(wc -l <"$hist")" -ge "$submitted" ] && break
    sleep 0.5
  done
  sort -n -o "$hist" "$hist"
  cat "$hist"
  local gpu_jobs other_gpu train_rows
  train_rows=$(awk -F', ' '$2 ~ /^train_density-/' "$hist" | wc -l)
  gpu_jobs=$(awk -F', ' '$2 ~ /^train_density-/ && $3 == 1 && $4 ~ /^GPU-/ && $5 == 3000' "$hist" | wc -l)
  other_gpu=$(awk -F', ' '$2 !~ /^train_density-/ && $3 != "undefined" && $3 != 0' "$hist" | wc -l)
  check "history has every submitted job ($submitted)" test "$(wc -l <"$hist")" -eq "$submitted"
  check "train_density asked for and got a GPU (RequestGPUs=1, AssignedGPUs set, 3000 MB)" \
    test "$train_rows" -ge 1 -a "$gpu_jobs" -eq "$train_rows"
  check "no other job asked for a GPU" test "$other_gpu" -eq 0
  check "every job exited 0" test "$(awk -F', ' '$6 != "0"' "$hist" | wc -l)" -eq 0
  result GPU_EVIDENCE "$(awk -F', ' '$2 ~ /^train_density-/ { printf "%s: RequestGPUs=%s AssignedGPUs=%s RequestMemory=%s MB; ", $2, $3, $4, $5 }' "$hist")other jobs requesting a GPU: $other_gpu of $((submitted - train_rows))"

  # ------------------------------------------------------------ a job that fails once
  as_user retry || true
  cp "$home/retry.log" "$OUT/retry.log" 2>/dev/null || true
  local rrc
  rrc=$(cat "$OUT/user/retry.rc" 2>/dev/null || echo missing)
  local rlog=$OUT/retry.log retry_ok=1
  check "retry: run exits 0 (rc=$rrc)" test "$rrc" = 0 || retry_ok=""
  check "retry: first attempt failed" grep -q "completed but failed with ExitCode" "$rlog" || retry_ok=""
  check "retry: job restarted" grep -q "Trying to restart job" "$rlog" || retry_ok=""
  check "retry: two clusters submitted" test "$(grep -c 'submitted to HTCondor Cluster ID' "$rlog")" -eq 2 || retry_ok=""
  check "retry: output written by attempt 2" test "$(cat "$home/failures/flaky.txt" 2>/dev/null)" = 2 || retry_ok=""
  result RETRY_TEST "$([ -n "$retry_ok" ] && echo PASS || echo FAIL)"
  result RETRY_EVIDENCE "$(grep -oE 'Cluster ID [0-9]+ completed but failed with ExitCode [0-9]+|Trying to restart job [0-9]+|Cluster ID [0-9]+ was successful' "$rlog" | head -3 | paste -sd';' | sed 's/;/; /g')"

  # ------------------------------------------------------------ a held job
  as_user hold || true
  cp "$home/hold.log" "$OUT/hold.log" 2>/dev/null || true
  local hrc hlog=$OUT/hold.log hold_ok=1 held_q
  hrc=$(cat "$OUT/user/hold.rc" 2>/dev/null || echo missing)
  held_q=$(condor_q -allusers -hold -af ClusterId JobBatchName HoldReason 2>/dev/null || true)
  printf '%s\n' "$held_q" >"$OUT/condor_q_hold.txt"
  check "hold: run fails (rc=$hrc)" test "$hrc" != 0 -a "$hrc" != missing || hold_ok=""
  check "hold: Snakemake's log has the hold reason" grep -q "is held: $HOLD_REASON" "$hlog" || hold_ok=""
  check "hold: the held job was retried once (two clusters), then the run failed" \
    test "$(grep -c 'submitted to HTCondor Cluster ID' "$hlog")" -eq 2 || hold_ok=""
  check "hold: the schedd holds the job with that reason" grep -q "$HOLD_REASON" "$OUT/condor_q_hold.txt" || hold_ok=""
  result HOLD_TEST "$([ -n "$hold_ok" ] && echo PASS || echo FAIL)"
  result HOLD_EVIDENCE "$(grep -oE "Cluster ID [0-9]+ is held: $HOLD_REASON" "$hlog" | paste -sd';' | sed 's/;/; /g'); schedd: $(printf '%s' "$held_q" | paste -sd';' | sed 's/;/; /g')"

  stop_pool
  [ "$FAILS" -eq 0 ]
}

# ======================================================================= as submituser

as_user_step() {
  export PATH=$VENV/bin:$PATH TF_CPP_MIN_LOG_LEVEL=2
  cd ~/innfer
  local step=$1 t0 rc=0 log
  local profiles=(--profile profiles/htcondor --profile tests/condor/profile)
  t0=$(now)
  case $step in
  dag)
    log=~/dag.log
    rm -rf .snakemake results logs benchmarks
    timeout -k 30 1800 snakemake "${profiles[@]}" --configfile tests/condor/config.yaml \
      >"$log" 2>&1 || rc=$?
    ;;
  retry)
    log=~/retry.log
    rm -rf ~/failures && mkdir -p ~/failures
    timeout -k 30 600 snakemake -s tests/condor/failures/Snakefile --directory ~/failures \
      "${profiles[@]}" flaky.txt >"$log" 2>&1 || rc=$?
    ;;
  hold)
    log=~/hold.log
    timeout -k 30 600 snakemake -s tests/condor/failures/Snakefile --directory ~/failures \
      "${profiles[@]}" held.txt >"$log" 2>&1 || rc=$?
    ;;
  esac
  echo "$rc" >"$OUT/user/$step.rc"
  secs "$t0" "$(now)" >"$OUT/user/$step.wall"
  echo "== $step: exit $rc after $(cat "$OUT/user/$step.wall") s; last lines of $log:"
  tail -n 5 "$log" | sed 's/^/   | /'
}

case "${1:-}" in
--inside)
  case $2 in
  build) inside_build ;;
  pool) inside_pool ;;
  *) exit 2 ;;
  esac
  exit $?
  ;;
--as-user)
  as_user_step "$2"
  exit 0
  ;;
esac

# ======================================================================= on the host

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
R=${INNFER_CONDOR_ROOT:-/tmp/innfer-condor}
LOGS=${INNFER_CONDOR_LOGS:-/tmp/innfer-condor-logs}
STAGE_T0=$(now)
NS="" # mount namespace of the pool (the unshare'd chroot), once started

skip() {
  echo "SKIP: $*"
  exit 0
}

fetch_ok() { # URL reachable?
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 20 -o /dev/null "$1" 2>/dev/null
  elif command -v wget >/dev/null 2>&1; then
    wget -q -T 20 -O /dev/null "$1" 2>/dev/null
  else
    python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=20)" "$1" 2>/dev/null
  fi
}

debian_mirror() { # the main Debian archive this machine's apt uses
  local uri=""
  if [ -n "${INNFER_DEBIAN_MIRROR:-}" ]; then
    echo "$INNFER_DEBIAN_MIRROR"
    return
  fi
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' |
    grep -E '/debian/?$' | head -1 || true)
  if [ -z "$uri" ]; then
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; break } }' |
      grep -E '/debian/?$' | head -1 || true)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

# Processes of the pool: everything in its mount namespace, or chrooted into $R (zombies,
# which hold no namespace or mount any more, are left to their reaper).
pool_pids() {
  local p pid
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = "$$" ] && continue
    [ "$(sed 's/^.*) //' "$p/stat" 2>/dev/null | cut -c1)" = Z ] && continue
    if { [ -n "$NS" ] && [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$NS" ]; } ||
      [ "$(readlink "$p/root" 2>/dev/null)" = "$R" ]; then
      echo "$pid"
    fi
  done
}
mounts_under_root() { awk -v r="$R" '$2 == r || index($2, r "/") == 1' /proc/mounts; }
condor_on_host() { pgrep -a 'condor_' || true; }

kill_pool() { # stop whatever of the pool is left (by pid), then lazy-unmount anything under $R
  local pids i
  pids=$(pool_pids)
  if [ -n "$pids" ]; then
    echo "cleanup: $(wc -w <<<"$pids") process(es) of the pool still running; stopping them: $(tr '\n' ' ' <<<"$pids")"
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    for i in $(seq 1 40); do
      [ -z "$(pool_pids)" ] && break
      sleep 0.5
    done
    pids=$(pool_pids)
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
    sleep 1
  fi
  if [ -n "$(mounts_under_root)" ]; then
    echo "cleanup: unmounting what is left under $R"
    mounts_under_root | awk '{ print $2 }' | sort -r | while read -r m; do umount -l "$m" || true; done
  fi
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  kill_pool
  exit "$rc"
}

# Run this script inside the chroot: private mount namespace, /proc the only mount, a clean env.
in_chroot() { # in_chroot <seconds> <mode>
  local limit=$1 mode=$2 rc=0
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LANG=C.UTF-8 TERM=dumb \
    unshare -m --propagation private timeout -k 30 "$limit" \
    sh -c 'mount -t proc proc "$1/proc" && exec chroot "$1" bash /opt/innfer-ci/run_pool_test.sh --inside "$2"' \
    sh "$R" "$mode" &
  local child=$!
  sleep 0.3
  NS=$(readlink "/proc/$child/ns/mnt" 2>/dev/null || true)
  [ "$NS" != "$(readlink /proc/$$/ns/mnt)" ] || NS=""
  wait "$child" || rc=$?
  return "$rc"
}

# ------------------------------------------------------------ prerequisites
[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, unshare -m, chroot); run as root or with sudo"
for tool in unshare chroot mount tar timeout; do
  command -v "$tool" >/dev/null 2>&1 || skip "'$tool' is not installed"
done
probe=$(mktemp -d)
if ! unshare -m --propagation private sh -c "mount -t proc proc '$probe' && umount '$probe'" 2>/dev/null; then
  rmdir "$probe"
  skip "cannot mount /proc in a private mount namespace (unshare -m needs CAP_SYS_ADMIN)"
fi
rmdir "$probe"
chroot / true 2>/dev/null || skip "chroot is not permitted (needs CAP_SYS_CHROOT)"
if [ -n "$(condor_on_host)" ]; then
  echo "FAIL: HTCondor processes are already running on this machine:"
  condor_on_host
  exit 1
fi
if awk 'NR > 1 && $4 == "0A" && $2 ~ /:2592$/ { found = 1 } END { exit !found }' \
  /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
  skip "port 9618 is already listening (another HTCondor pool?): one pool per host"
fi

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------ the chroot: reuse or build
MIRROR=$(debian_mirror)
chroot_state=reused
BUILD_T0=$(now)
if [ -n "$(mounts_under_root)" ]; then
  echo "FAIL: something is mounted under $R:"
  mounts_under_root
  exit 1
fi
if [ "${INNFER_CONDOR_REBUILD:-0}" = 1 ] || [ ! -e "$R/.innfer-debootstrap-ok" ] ||
  [ "$(cat "$R/.innfer-debootstrap-ok" 2>/dev/null)" != "$SUITE $MIRROR" ] ||
  ! chroot "$R" /bin/true 2>/dev/null; then
  chroot_state=built
  if ! command -v debootstrap >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || skip "debootstrap is not installed and there is no apt-get"
    echo "== installing debootstrap"
    { apt-get install -y -q debootstrap >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q debootstrap >/dev/null 2>&1; }; } ||
      skip "debootstrap is not installable with apt-get"
  fi
  fetch_ok "$MIRROR/dists/$SUITE/Release" || skip "cannot reach the Debian mirror $MIRROR ($SUITE)"
  fetch_ok "https://pypi.org/simple/snakemake/" || skip "cannot reach PyPI (pypi.org)"
  echo "== debootstrap $SUITE from $MIRROR into $R"
  rm -rf "$R"
  debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$R" "$MIRROR" \
    >"$R.debootstrap.log" 2>&1 || {
    tail -n 20 "$R.debootstrap.log"
    echo "FAIL: debootstrap"
    exit 1
  }
  rm -f "$R.debootstrap.log"
  echo "$SUITE $MIRROR" >"$R/.innfer-debootstrap-ok"
fi
mkdir -p "$R$CI" "$R/dev/shm" && chmod 1777 "$R/dev/shm"
cp /etc/resolv.conf "$R/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$R$CI/host-ca.crt" # pip: the host's CAs (a proxy's too)
cp "${BASH_SOURCE[0]}" "$R$CI/run_pool_test.sh"

# The repository as in the working tree (tracked and untracked files, minus ignored ones).
rm -rf "$R$CI/src" && mkdir -p "$R$CI/src"
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$REPO" && git ls-files -z -co --exclude-standard |
    tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -x -C "$R$CI/src"
else
  tar -C "$REPO" --exclude=.venv --exclude=results --exclude=.snakemake --exclude=logs \
    --exclude=__pycache__ --exclude=.git -cf - . | tar -x -C "$R$CI/src"
fi

# Packages and venv (a no-op when the stamps say they are current).
if ! [ -e "$R$CI/stamps/apt-ok" ] || ! ls "$R$VENV"/.innfer-requirements-* >/dev/null 2>&1; then
  fetch_ok "$MIRROR/dists/$SUITE/Release" || skip "cannot reach the Debian mirror $MIRROR ($SUITE)"
  fetch_ok "https://pypi.org/simple/snakemake/" || skip "cannot reach PyPI (pypi.org)"
  [ "$chroot_state" = built ] || chroot_state="reused (packages updated)"
fi
echo "== chroot $R: packages and venv"
if ! in_chroot 1800 build; then
  echo "FAIL: installing HTCondor or the venv in the chroot"
  exit 1
fi
BUILD_S=$(secs "$BUILD_T0" "$(now)")

# ------------------------------------------------------------ the pool test
echo "== pool test (chroot $chroot_state in $BUILD_S s)"
pool_rc=0
in_chroot "${INNFER_CONDOR_TIMEOUT:-2400}" pool || pool_rc=$?

# Everything must be gone now: the pool's processes (its mount namespace with them) and mounts.
sleep 1
left=$(pool_pids | wc -w)
host_condor=$(condor_on_host)
mounts=$(mounts_under_root)
kill_pool
left_after=$(pool_pids | wc -w)
host_condor_after=$(condor_on_host)
mounts_after=$(mounts_under_root)

rm -rf "$LOGS" && mkdir -p "$LOGS" && cp -r "$R$CI/out/." "$LOGS/" 2>/dev/null || true
RES=$R$CI/out/results.env
val() { { grep -m1 "^$1=" "$RES" 2>/dev/null || echo "$1=NA"; } | cut -d= -f2-; }

fails=$(val FAILS)
[ "$fails" = NA ] && fails=1
status=PASS
[ "$pool_rc" = 0 ] && [ "$fails" = 0 ] || status=FAIL
if [ "$left" != 0 ] || [ -n "$host_condor" ] || [ -n "$mounts" ]; then
  echo "FAIL: after the pool stopped: $left process(es) left, condor on host: '${host_condor}', mounts: '${mounts}'"
  status=FAIL
fi
if [ "$left_after" != 0 ] || [ -n "$host_condor_after" ] || [ -n "$mounts_after" ]; then
  echo "FAIL: even after cleanup: $left_after process(es), condor: '${host_condor_after}', mounts: '${mounts_after}'"
  status=FAIL
fi
if [ "$status" != PASS ]; then
  for f in dag.log retry.log hold.log; do
    [ -e "$LOGS/$f" ] || continue
    echo "---- last lines of $f"
    tail -n 40 "$LOGS/$f"
  done
fi

cat <<EOF

==================== HTCondor pool test ====================
chroot:            $R, $chroot_state (packages and venv checked in $BUILD_S s)
pool start:        $(val POOL_START_S) s (condor_master until a slot with a GPU and the schedd answer)
DAG wall time:     $(val DAG_WALL_S) s ($(val DAG_JOBS_SUBMITTED) jobs through the pool, exit $(val DAG_RC))
GPU request:       $(val GPU_EVIDENCE)
retry test:        $(val RETRY_TEST): $(val RETRY_EVIDENCE)
hold test:         $(val HOLD_TEST): $(val HOLD_EVIDENCE)
pool stop:         $(val POOL_STOP_S) s; processes left: $left; condor on host: ${host_condor:-none}; mounts under $R: ${mounts:-none}
checks failed:     $fails
logs:              $LOGS
stage total:       $(secs "$STAGE_T0" "$(now)") s
RESULT: $status
=============================================================
EOF
[ "$status" = PASS ]
