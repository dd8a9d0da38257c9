//! The listening sockets of a deployment's processes, with the backlog the kernel gives each,
//! read with `ss` (iproute2): the kernel's sock_diag answer, which /proc/net/tcp lacks. It
//! only reads.

use std::process::Command;

use serde::{Deserialize, Serialize};

/// One listening TCP socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listening {
    /// `address:port`, as ss prints it.
    pub address: String,
    /// The accept queue's limit: the listen() backlog, capped by net.core.somaxconn.
    pub backlog: u32,
    /// The processes holding it.
    pub pids: Vec<i32>,
}

/// Every listening TCP socket held by one of `pids`; None when ss cannot be run.
pub fn listening(pids: &[i32]) -> Option<Vec<Listening>> {
    let out = Command::new("ss").args(["-Hltnp"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        parse(&String::from_utf8_lossy(&out.stdout))
            .into_iter()
            .filter(|l| l.pids.iter().any(|p| pids.contains(p)))
            .collect(),
    )
}

/// `LISTEN 0 1024 127.0.0.1:41234 0.0.0.0:* users:(("python",pid=5,fd=3),…)` per line: for a
/// listening socket, ss's Send-Q column is the backlog.
fn parse(text: &str) -> Vec<Listening> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let _state = f.next()?;
            let _recv_q = f.next()?;
            let backlog = f.next()?.parse().ok()?;
            let address = f.next()?.to_owned();
            let pids = line
                .split("pid=")
                .skip(1)
                .filter_map(|rest| {
                    let end = rest.find(|c: char| !c.is_ascii_digit())?;
                    rest[..end].parse().ok()
                })
                .collect();
            Some(Listening {
                address,
                backlog,
                pids,
            })
        })
        .collect()
}

/// The kernel's cap on every listen backlog (net.core.somaxconn).
pub fn somaxconn() -> Option<u32> {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_backlog_address_and_every_holder() {
        let text = "LISTEN 0      1024   127.0.0.1:41234 0.0.0.0:* \
                    users:((\"python\",pid=512,fd=3),(\"python\",pid=513,fd=3))\n\
                    LISTEN 2      511    127.0.0.1:6379  0.0.0.0:* users:((\"redis-server\",pid=77,fd=6))\n";
        let l = parse(text);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].backlog, 1024);
        assert_eq!(l[0].address, "127.0.0.1:41234");
        assert_eq!(l[0].pids, vec![512, 513]);
        assert_eq!((l[1].backlog, l[1].pids.clone()), (511, vec![77]));
    }
}
