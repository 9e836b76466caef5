# A throwaway single-node garage (a real S3 server, Rust) for benchmarks. Source it:
#
#   . bench/lib/garage.sh
#   garage_start DIR          # fresh server in DIR; exports AWS_* credentials, GARAGE_ENDPOINT
#   garage_bucket NAME        # creates a bucket the key can read and write
#   garage_stop               # (also on EXIT once started)
#
# The binary: $GARAGE_BIN, else bench/work/bin/garage, bench/work/garage-$GARAGE_VERSION/bin/garage,
# `garage` on PATH, else built once with `cargo install --locked` (20-40 min on two cores)
# into bench/work/garage-$GARAGE_VERSION. Ports: GARAGE_PORT_BASE (default 3910) + 0 S3,
# + 1 RPC, + 3 admin. The server runs on core GARAGE_CPU (default 0) so clients pinned
# elsewhere do not compete with it, at niceness GARAGE_NICE (default 0; negative needs root).

GARAGE_VERSION=${GARAGE_VERSION:-2.5.0}
GARAGE_PORT_BASE=${GARAGE_PORT_BASE:-3910}
GARAGE_CPU=${GARAGE_CPU:-0}
GARAGE_NICE=${GARAGE_NICE:-0}
_garage_bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# garage_found: the path of an already built garage (as garage_binary finds it), or
# nothing; never builds. bench/all.sh uses it to skip the garage sections instead of
# spending half an hour compiling.
garage_found() {
  local candidate
  for candidate in "${GARAGE_BIN:-}" "$_garage_bench_dir/work/bin/garage" \
    "$_garage_bench_dir/work/garage-$GARAGE_VERSION/bin/garage" "$(type -P garage 2>/dev/null)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      echo "$candidate"
      return
    fi
  done
}

garage_binary() {
  local candidate
  for candidate in "${GARAGE_BIN:-}" "$_garage_bench_dir/work/bin/garage" \
    "$_garage_bench_dir/work/garage-$GARAGE_VERSION/bin/garage" "$(type -P garage 2>/dev/null)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      echo "$candidate"
      return
    fi
  done
  echo "building garage $GARAGE_VERSION into bench/work/garage-$GARAGE_VERSION (once)" >&2
  mkdir -p "$_garage_bench_dir/work"
  nice -n 10 cargo install --locked --root "$_garage_bench_dir/work/garage-$GARAGE_VERSION" \
    --version "$GARAGE_VERSION" garage >&2
  echo "$_garage_bench_dir/work/garage-$GARAGE_VERSION/bin/garage"
}

garage() { "$GARAGE" -c "$GARAGE_CONF" "$@"; }

garage_start() {
  local dir=$1
  GARAGE=$(garage_binary)
  rm -rf "$dir" && mkdir -p "$dir"
  GARAGE_CONF=$dir/garage.toml
  cat >"$GARAGE_CONF" <<TOML
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "lmdb"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$((GARAGE_PORT_BASE + 1))"
rpc_public_addr = "127.0.0.1:$((GARAGE_PORT_BASE + 1))"
rpc_secret = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$GARAGE_PORT_BASE"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$((GARAGE_PORT_BASE + 3))"
TOML
  nice -n "$GARAGE_NICE" taskset -c "$GARAGE_CPU" "$GARAGE" -c "$GARAGE_CONF" server >"$dir/server.log" 2>&1 &
  export GARAGE GARAGE_CONF GARAGE_PID=$!
  trap garage_stop EXIT
  local _
  for _ in $(seq 100); do garage status >/dev/null 2>&1 && break; sleep 0.2; done
  local node
  node=$(garage node id -q | cut -d@ -f1)
  garage layout assign -z dc1 -c 10G "$node" >/dev/null
  garage layout apply --version 1 >/dev/null
  sleep 1
  local key
  key=$(garage key create bench)
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  AWS_ACCESS_KEY_ID=$(echo "$key" | awk '/Key ID/{print $NF}')
  AWS_SECRET_ACCESS_KEY=$(echo "$key" | awk '/Secret key/{print $NF}')
  export AWS_REGION=garage AWS_DEFAULT_REGION=garage AWS_EC2_METADATA_DISABLED=true
  # A CA bundle for AWS makes rclone refuse its plain-HTTP transport; garage is local HTTP.
  unset AWS_CA_BUNDLE
  export GARAGE_ENDPOINT=http://127.0.0.1:$GARAGE_PORT_BASE
  # rclone's remote "garage:" from the environment.
  export RCLONE_CONFIG_GARAGE_TYPE=s3 RCLONE_CONFIG_GARAGE_PROVIDER=Other \
    RCLONE_CONFIG_GARAGE_ENDPOINT=$GARAGE_ENDPOINT RCLONE_CONFIG_GARAGE_REGION=garage \
    RCLONE_CONFIG_GARAGE_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID \
    RCLONE_CONFIG_GARAGE_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
    RCLONE_CONFIG_GARAGE_FORCE_PATH_STYLE=true
}

garage_bucket() {
  garage bucket create "$1" >/dev/null
  garage bucket allow --read --write --owner "$1" --key bench >/dev/null
}

garage_stop() {
  if [ -n "${GARAGE_PID:-}" ]; then
    kill "$GARAGE_PID" 2>/dev/null || true
    wait "$GARAGE_PID" 2>/dev/null || true
    GARAGE_PID=
  fi
}
