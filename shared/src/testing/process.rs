//! Keel's binaries as child processes: start, wait until ready, SIGTERM, read stderr.

use uuid::Uuid;

/// A free loopback port (bound, then released) for a child process to listen on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// One of Keel's binaries running as a child process, with stderr captured.
pub struct ChildProcess {
    child: std::process::Child,
    stderr_path: std::path::PathBuf,
}

impl ChildProcess {
    /// Starts `program` with `args` and `env` added to a cleared-down environment (PATH and
    /// HOME kept), so the developer's own variables cannot leak in.
    pub fn spawn(program: &str, args: &[&str], env: &[(String, String)]) -> Self {
        let stderr_path =
            std::env::temp_dir().join(format!("keel-child-{}.log", Uuid::new_v4().simple()));
        let stderr = std::fs::File::create(&stderr_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", stderr_path.display()));
        let mut cmd = std::process::Command::new(program);
        cmd.args(args)
            .env_clear()
            .envs(std::env::vars().filter(|(k, _)| k == "PATH" || k == "HOME"))
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(stderr);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        Self { child, stderr_path }
    }

    /// Runs `program` to completion and returns its exit code, stdout and stderr.
    pub fn output(
        program: &str,
        args: &[&str],
        env: &[(String, String)],
    ) -> (Option<i32>, String, String) {
        let out = std::process::Command::new(program)
            .args(args)
            .env_clear()
            .envs(std::env::vars().filter(|(k, _)| k == "PATH" || k == "HOME"))
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs `program` to completion and returns its exit code and stderr.
    pub fn run(program: &str, args: &[&str], env: &[(String, String)]) -> (Option<i32>, String) {
        let mut process = Self::spawn(program, args, env);
        let status = process.wait();
        (status.code(), process.stderr())
    }

    /// Polls `url` until it answers 200, or panics after `timeout` with the child's stderr.
    pub async fn wait_until_ok(&mut self, url: &str, timeout: std::time::Duration) {
        let client = reqwest::Client::new();
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("process exited early with {status}:\n{}", self.stderr());
            }
            if let Ok(res) = client.get(url).send().await
                && res.status().is_success()
            {
                return;
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "{url} did not answer 200 within {timeout:?}:\n{}",
                    self.stderr()
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGKILL and reaps the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM (what systemd and Kubernetes send to stop a process); does not wait.
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Sends SIGINT (what Ctrl-C in a terminal sends).
    pub fn interrupt(&self) {
        self.signal("INT");
    }

    fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit (at most 30 s, then kills it and panics).
    pub fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status,
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                _ => {
                    let _ = self.child.kill();
                    panic!("process did not exit within 30 s:\n{}", self.stderr());
                }
            }
        }
    }

    /// Everything the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stderr_path);
    }
}
