//! What the fleet does on one host, as shell scripts run over SSH: look (containers of the
//! project and hashes of its files), write files and secrets, run compose, wait for health.

use super::ssh::{Remote, quote};
use bts_fleet::plan::{Observed, PROJECT_LABEL, SERVICE_LABEL, parse_inspect};
use bts_fleet::render::SecretCopy;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What a host has now.
pub(crate) struct HostState {
    pub(crate) containers: Vec<Observed>,
    /// Path (relative to the project directory) → sha256.
    pub(crate) files: BTreeMap<String, String>,
}

/// The script lines that print `docker inspect` of the project's containers (`[]` for none),
/// exiting 3 when the engine does not answer ([`engine_error`] says so).
fn inspect_script(project: &str) -> String {
    format!(
        "ids=$(docker ps -aq --filter label={PROJECT_LABEL}={project}) || exit 3\n\
         if [ -n \"$ids\" ]; then docker inspect $ids; else echo '[]'; fi\n"
    )
}

/// A failed script of [`inspect_script`]'s, in the operator's words.
fn engine_error(e: String) -> String {
    if e.contains("exit 3") {
        format!("the Docker engine does not answer: {e}")
    } else {
        e
    }
}

/// A shell expression for the id of `service`'s running container (empty when none runs).
fn container_id(project: &str, service: &str) -> String {
    format!(
        "$(docker ps -q --filter label={PROJECT_LABEL}={project} --filter label={SERVICE_LABEL}={} | head -1)",
        quote(service)
    )
}

/// Looks at the project on the host.
pub(crate) async fn observe(remote: &Remote, project: &str) -> Result<HostState, String> {
    let dir = quote(&remote.host.dir);
    let script = format!(
        "{}echo @@files\n\
         cd {dir} 2>/dev/null || exit 0\n\
         for f in *.yml *.toml secrets/*; do\n\
           [ -f \"$f\" ] || continue\n\
           if [ -r \"$f\" ]; then sha256sum \"$f\"\n\
           elif [ -f \"secrets/.${{f#secrets/}}.sha256\" ]; then echo \"$(cat \"secrets/.${{f#secrets/}}.sha256\")  $f\"; fi\n\
         done\n\
         exit 0",
        inspect_script(project)
    );
    let out = remote.run(&script, None).await.map_err(engine_error)?;
    let (inspect, files) = out.stdout.split_once("@@files").unwrap_or((&out.stdout, ""));
    let containers = parse_inspect(inspect, project)?;
    let files = files
        .lines()
        .filter_map(|l| {
            l.split_once("  ")
                .map(|(hash, path)| (path.trim().to_owned(), hash.to_owned()))
        })
        .collect();
    Ok(HostState { containers, files })
}

/// Writes a file of the project directory: received whole beside it first, then copied over it
/// in place. In place, not renamed: a file that compose mounts alone into a container is bound
/// to its inode, and a running gateway must see its new configuration when told to reload.
pub(crate) async fn write_file(remote: &Remote, path: &str, text: &[u8]) -> Result<(), String> {
    let dir = quote(&remote.host.dir);
    let path = quote(path);
    // `.new.$$`: two writes of one file at once must not share their temporary file.
    let script =
        format!("set -e; mkdir -p {dir}; cd {dir}; t={path}.new.$$; cat > \"$t\"; cat \"$t\" > {path}; rm -f \"$t\"");
    remote.run(&script, Some(text)).await.map(|_| ())
}

/// Writes a secret to `secrets/NAME`, mode 0400, owned by the user of the service that reads it.
/// Without root, the owner is set through the engine (a one-off container of `image`); the
/// login then cannot read the file back, so its sha256 is kept beside it (`.NAME.sha256`) for
/// [`observe`] to compare.
pub(crate) async fn write_secret(
    remote: &Remote,
    secret: &SecretCopy,
    value: &[u8],
    image: &str,
) -> Result<(), String> {
    let dir = quote(&remote.host.dir);
    let name = quote(&secret.name);
    let (uid, gid) = secret.owner;
    let image = quote(image);
    let hash = bts_fleet::plan::file_hash(value);
    let sidecar = quote(&format!(".{}.sha256", secret.name));
    let script = format!(
        "set -e; mkdir -p {dir}/secrets; cd {dir}/secrets; umask 077; cat > {name}.new; chmod 0400 {name}.new\n\
         chown {uid}:{gid} {name}.new 2>/dev/null || docker run --rm --user 0 --network none --entrypoint chown \
         -v \"$PWD:/s\" {image} {uid}:{gid} /s/{name}.new >/dev/null\n\
         mv -f {name}.new {name}\n\
         printf %s {hash} > {sidecar}"
    );
    remote.run(&script, Some(value)).await.map(|_| ())
}

/// The start of a script that runs compose in the project directory: `compose` is Docker's
/// plugin (`docker compose`) where installed, else docker-compose 1.x.
fn compose_preamble(remote: &Remote) -> String {
    format!(
        "set -e; cd {}\n\
         if docker compose version >/dev/null 2>&1; then compose() {{ docker compose \"$@\"; }}; else compose() {{ docker-compose \"$@\"; }}; fi\n",
        quote(&remote.host.dir)
    )
}

/// `compose -p PROJECT ARGS` for each line of `commands` (already quoted), in order.
pub(crate) async fn compose(remote: &Remote, project: &str, commands: &[String]) -> Result<(), String> {
    let mut script = compose_preamble(remote);
    for args in commands {
        script.push_str(&format!("compose -p {project} {args} >&2\n"));
    }
    remote.run(&script, None).await.map(|_| ())
}

/// `compose up -d` for `services` (all when empty), recreating `force` ones.
pub(crate) async fn compose_up(
    remote: &Remote,
    project: &str,
    services: &[String],
    force: &[String],
    remove_orphans: bool,
) -> Result<(), String> {
    let words = |list: &[String]| list.iter().map(|s| quote(s)).collect::<Vec<_>>().join(" ");
    let mut script = compose_preamble(remote);
    let orphans = if remove_orphans { " --remove-orphans" } else { "" };
    if !force.is_empty() {
        script.push_str(&format!(
            "compose -p {project} up -d --force-recreate --no-deps {} >&2\n",
            words(force)
        ));
    }
    script.push_str(&format!(
        "compose -p {project} up -d{orphans} {} >&2\n",
        words(services)
    ));
    remote.run(&script, None).await.map(|_| ())
}

/// Waits until each of `services` runs and, if it has a health check, is healthy.
pub(crate) async fn wait_ready(
    remote: &Remote,
    project: &str,
    services: &[String],
    timeout: Duration,
) -> Result<(), String> {
    let started = Instant::now();
    loop {
        let state = observe(remote, project).await?;
        let waiting: Vec<String> = services
            .iter()
            .filter(|name| {
                !state.containers.iter().any(|c| {
                    &c.service == *name && c.state == "running" && c.health.as_deref().is_none_or(|h| h == "healthy")
                })
            })
            .map(|name| {
                let seen = state.containers.iter().find(|c| &c.service == name);
                match seen {
                    Some(c) => format!(
                        "{name} ({}{})",
                        c.state,
                        c.health.as_ref().map_or(String::new(), |h| format!(", {h}"))
                    ),
                    None => format!("{name} (no container)"),
                }
            })
            .collect();
        if waiting.is_empty() {
            return Ok(());
        }
        if started.elapsed() > timeout {
            return Err(format!(
                "not ready after {}: {}",
                humantime::format_duration(timeout),
                waiting.join(", ")
            ));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Everything `fleet status` needs from one host, in one SSH call: the project's containers,
/// their CPU and memory, each node's readiness probe and each gateway's status, the last two run
/// inside their containers (so nothing on the host needs to be reachable from here).
pub(crate) async fn collect_status(
    remote: &Remote,
    project: &str,
    nodes: &[String],
    gateways: &[String],
) -> bts_fleet::status::HostReport {
    let mut script = format!(
        "{}echo @@stats\n\
         running=$(docker ps -q --filter label={PROJECT_LABEL}={project})\n\
         [ -n \"$running\" ] && docker stats --no-stream --format '{{{{json .}}}}' $running\n",
        inspect_script(project)
    );
    for node in nodes {
        script.push_str(&format!(
            "echo @@ready {node}; id={}; [ -n \"$id\" ] && timeout 15 docker exec \"$id\" bts-infra node ready --json --timeout 5s 2>/dev/null\n",
            container_id(project, node)
        ));
    }
    for gateway in gateways {
        script.push_str(&format!(
            "echo @@gateway {gateway}; id={}; [ -n \"$id\" ] && timeout 15 docker exec \"$id\" bts-infra healthcheck --print-body --timeout 5s http://127.0.0.1:{}/status.json 2>/dev/null\n",
            container_id(project, gateway),
            bts_fleet::render::SERVICE_PORT
        ));
    }
    script.push_str("exit 0\n");
    let mut report = bts_fleet::status::HostReport::default();
    let out = match remote.run(&script, None).await {
        Ok(out) => out.stdout,
        Err(e) => {
            report.error = Some(engine_error(e));
            return report;
        }
    };
    let mut section = String::from("@@inspect");
    let mut text = String::new();
    let flush = |section: &str, text: &mut String, report: &mut bts_fleet::status::HostReport| {
        let body = std::mem::take(text);
        match section.split_once(' ').unwrap_or((section, "")) {
            ("@@inspect", _) => match parse_inspect(&body, project) {
                Ok(c) => report.containers = c,
                Err(e) => report.error = Some(e),
            },
            ("@@stats", _) => report.stats = body.lines().map(str::to_owned).collect(),
            ("@@ready", name) => {
                report.ready.insert(name.to_owned(), body);
            }
            ("@@gateway", name) => {
                report.gateways.insert(name.to_owned(), body);
            }
            _ => {}
        }
    };
    for line in out.lines() {
        if line.starts_with("@@") {
            flush(&section, &mut text, &mut report);
            section = line.to_owned();
        } else {
            text.push_str(line);
            text.push('\n');
        }
    }
    flush(&section, &mut text, &mut report);
    report
}

/// Runs `bts-infra ARGS` inside the running container of `service` and returns what it printed.
pub(crate) async fn exec_in(remote: &Remote, project: &str, service: &str, args: &[&str]) -> Result<String, String> {
    let words: Vec<String> = args.iter().map(|a| quote(a)).collect();
    let script = format!(
        "id={}\n\
         [ -n \"$id\" ] || {{ echo 'no running container' >&2; exit 4; }}\n\
         timeout 20 docker exec \"$id\" bts-infra {}",
        container_id(project, service),
        words.join(" ")
    );
    remote.run(&script, None).await.map(|o| o.stdout)
}
