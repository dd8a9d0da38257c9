//! CPython 3.14 with the GIL, from Debian sid's binary packages unpacked into a private
//! sysroot in the cache: sid's python3.14 needs a newer glibc than the host's, so the sysroot
//! carries its own, and patchelf points the interpreter at it. Never touches the system's dpkg
//! state or libc.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::apt::{MIRROR, PrivateApt};
use super::cache::{Cache, install_tree};
use super::python::{Flavour, Provisioned, Rejected, Rule};
use super::steps::{ProvisionError, Ui};
use super::system;

const ID: &str = "cpython-3.14-debian-sid";
const LIB: &str = "usr/lib/x86_64-linux-gnu";

/// Provisions the sysroot; `passed_over` (the routes tried before, and why they gave nothing)
/// goes into its record for `doctor`.
pub fn provision(
    cache: &Cache,
    ui: &Ui,
    passed_over: &[Rejected],
) -> Result<PathBuf, ProvisionError> {
    let dest = cache.dir("python").join(ID);
    if let Some(done) = Cache::completed::<Provisioned>(&dest) {
        return Ok(done.python);
    }
    system::ensure(&["patchelf"], "the CPython 3.14 sysroot", cache, ui)?;
    let log = cache
        .log("python-gil-sysroot")
        .map_err(|e| ProvisionError::io("cannot write logs", e))?;
    let staging = cache.dir("python").join(format!("{ID}.partial"));
    let apt = PrivateApt::new(&cache.dir("apt/sid"), &[format!("deb {MIRROR} sid main")])?;

    let debs = ui.step("download CPython 3.14 (Debian sid packages)", |step| {
        apt.update(step, &log)?;
        apt.download(
            &["python3.14", "python3.14-venv", "python3.14-dev"],
            step,
            &log,
        )
    })?;
    ui.step(
        &format!("unpack {} packages into a private sysroot", debs.len()),
        |step| {
            Cache::remove_tree(&staging)
                .map_err(|e| ProvisionError::io("cannot clear a half-built sysroot", e))?;
            std::fs::create_dir_all(&staging)
                .map_err(|e| ProvisionError::io("cannot create the sysroot folder", e))?;
            for deb in &debs {
                let name = deb.file_name().unwrap_or_default().to_string_lossy();
                step.run(
                    &format!("dpkg -x {name}"),
                    Command::new("dpkg-deb").arg("-x").arg(deb).arg(&staging),
                    &log,
                )?;
            }
            install_tree(&staging, &dest)
                .map_err(|e| ProvisionError::io("cannot move the sysroot into place", e))
        },
    )?;
    let python = dest.join("usr/bin/python3.14");
    ui.step(
        "patch the interpreter to use the sysroot's libraries",
        |step| {
            // DT_RPATH (forced), not RUNPATH, so what extension modules dlopen also comes from here.
            step.run(
                "patchelf",
                Command::new("patchelf")
                    .arg("--set-interpreter")
                    .arg(dest.join(LIB).join("ld-linux-x86-64.so.2"))
                    .arg("--force-rpath")
                    .arg("--set-rpath")
                    .arg(dest.join(LIB))
                    .arg(&python),
                &log,
            )?;
            fix_paths(&dest)
        },
    )?;
    Provisioned::verify_and_mark(
        &dest,
        python,
        Flavour::Gil,
        (Rule::DebianSysroot, passed_over),
        "CPython 3.14",
        |facts| format!("Debian sid packages, CPython {}", facts.version),
    )
}

/// Debian's build points two things at the host's /usr: the wheels `venv` bootstraps pip from,
/// and the multiarch pyconfig.h wrapper that C extensions include.
fn fix_paths(root: &Path) -> Result<(), ProvisionError> {
    let sysconfig = root.join("usr/lib/python3.14/_sysconfigdata__linux_x86_64-linux-gnu.py");
    let text = std::fs::read_to_string(&sysconfig)
        .map_err(|e| ProvisionError::io(format!("cannot read {}", sysconfig.display()), e))?;
    let wheels = format!("'{}/'", root.join("usr/share/python-wheels").display());
    let fixed = text.replace("'/usr/share/python-wheels/'", &wheels);
    std::fs::write(&sysconfig, fixed)
        .map_err(|e| ProvisionError::io(format!("cannot write {}", sysconfig.display()), e))?;
    let real = root.join("usr/include/x86_64-linux-gnu/python3.14/pyconfig.h");
    let wrapper = root.join("usr/include/python3.14/pyconfig.h");
    std::fs::copy(&real, &wrapper)
        .map_err(|e| ProvisionError::io("cannot replace the multiarch pyconfig.h", e))?;
    Ok(())
}
