# Ten thousand round trips while a bulk transfer and twelve idle raw sockets share the namespace.
# why: timing and the background traffic change every count from run to run
# The test prints its summary; grep keeps those lines of cargo's output.
cargo test --quiet -p step-04-echo --test noise -- --nocapture 2>&1 \
    | grep -oE '(client|server|bulk transfer): .*'
