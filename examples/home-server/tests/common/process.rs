//! The server binary as a child process: started with flags, its address read
//! from its log, killed with SIGKILL (crash and multi-instance tests).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// Generous bound for a start of the binary (compiled in debug, on a busy machine).
pub const START_LIMIT: Duration = Duration::from_secs(120);

/// The server binary running as a child process.
pub struct ServerProcess {
    child: Child,
    /// `http://ADDR` it serves at.
    pub base: String,
    log: Arc<Mutex<Vec<String>>>,
}

/// Removes ANSI colour sequences (`ESC [ … letter`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Reads `stream` line by line into `log`; sends the first `http://…` URL seen.
fn pump(
    stream: impl Read + Send + 'static,
    log: Arc<Mutex<Vec<String>>>,
    tx: mpsc::Sender<String>,
) {
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let line = strip_ansi(&line);
            if !sent && let Some(at) = line.find("http://") {
                let url: String = line[at..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != ')' && *c != ',')
                    .collect();
                sent = tx.send(url).is_ok();
            }
            log.lock().unwrap().push(line);
        }
    });
}

impl ServerProcess {
    /// Starts `command` (the binary with its flags and environment) and waits
    /// until it logs the address it serves at.
    pub fn start(mut command: Command) -> Self {
        let mut child = command
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the p2core-home-server binary");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        pump(child.stdout.take().unwrap(), log.clone(), tx.clone());
        pump(child.stderr.take().unwrap(), log.clone(), tx);
        match rx.recv_timeout(START_LIMIT) {
            Ok(base) => Self { child, base, log },
            Err(e) => {
                let _ = child.kill();
                let status = child.wait();
                panic!(
                    "the server did not report its address ({e}; exit: {status:?}); its output:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        }
    }

    /// Its output so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// SIGKILL (std's `Child::kill` on Unix), then reaps the process; returns its output.
    pub fn kill_9(mut self) -> Vec<String> {
        self.child.kill().expect("SIGKILL the server");
        let status = self.child.wait().expect("reap the server");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status:?}");
        }
        self.log()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
