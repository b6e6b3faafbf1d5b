//! Choosing the device a run trains on, at run time.
//!
//! Burn 0.22 tensors carry no backend type: the backend is the [`Device`] they live on. So the
//! choice is a value (`--device`), checked up front, with a clear error when a named backend
//! cannot start.

use std::fmt;
use std::str::FromStr;

use burn::tensor::wgpu::wgpu;
use burn::tensor::{Device, DeviceKind};
use serde::{Deserialize, Serialize};
use temper_data::bounded::quote;

use crate::error::TrainError;

/// What the user asked for (`--device`, `[train] device`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// A hardware GPU through wgpu when there is one, else the fastest CPU backend.
    #[default]
    Auto,
    /// Burn's wgpu backend on the best adapter (Vulkan, Metal, DX12, or a software one).
    Wgpu,
    /// Burn's pure-Rust CPU backend.
    Flex,
    /// Burn's ndarray CPU backend (deprecated by Burn, still the fastest for small MLPs).
    NdArray,
}

impl DeviceChoice {
    /// The names `[train] device` and `--device` accept.
    pub const NAMES: [&'static str; 4] = ["auto", "wgpu", "flex", "ndarray"];
}

impl FromStr for DeviceChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "wgpu" => Ok(Self::Wgpu),
            "flex" => Ok(Self::Flex),
            "ndarray" => Ok(Self::NdArray),
            other => Err(format!(
                "unknown device {}; expected one of {}",
                quote(other),
                Self::NAMES.join(", ")
            )),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Auto => "auto",
            Self::Wgpu => "wgpu",
            Self::Flex => "flex",
            Self::NdArray => "ndarray",
        };
        f.write_str(name)
    }
}

/// The device a run uses and, in words, why.
#[derive(Debug, Clone)]
pub struct SelectedDevice {
    /// The plain device (no autodiff); the trainer adds autodiff itself.
    pub device: Device,
    /// `wgpu`, `flex` or `ndarray`.
    pub backend: DeviceChoice,
    /// What was chosen and why, for the user.
    pub reason: String,
}

/// One wgpu adapter as the system reports it.
#[derive(Debug, Clone)]
pub struct Adapter {
    /// The adapter's name as the driver reports it.
    pub name: String,
    /// The graphics API it runs on (Vulkan, Metal, DX12, ...).
    pub api: String,
    /// False for software rasterizers (lavapipe, llvmpipe, WARP).
    pub hardware: bool,
    /// `discrete`, `integrated`, `virtual`, `cpu` or `other`.
    pub kind: &'static str,
}

/// Every wgpu adapter of every graphics API on this machine. Never panics: a machine without
/// any graphics stack has none.
pub fn wgpu_adapters() -> Vec<Adapter> {
    let found = std::panic::catch_unwind(|| {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: wgpu::Backends::all(),
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        futures_lite::future::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
            .iter()
            .map(|a| {
                let info = a.get_info();
                Adapter {
                    name: info.name.clone(),
                    api: format!("{:?}", info.backend),
                    hardware: info.device_type != wgpu::DeviceType::Cpu,
                    kind: match info.device_type {
                        wgpu::DeviceType::DiscreteGpu => "discrete",
                        wgpu::DeviceType::IntegratedGpu => "integrated",
                        wgpu::DeviceType::VirtualGpu => "virtual",
                        wgpu::DeviceType::Cpu => "cpu",
                        wgpu::DeviceType::Other => "other",
                    },
                }
            })
            .collect::<Vec<_>>()
    });
    found.unwrap_or_default()
}

/// The CPU backend `auto` falls back to. `benches/train_step.rs` measured flex ahead of ndarray
/// for both reference models on this project's 2-core machines (README: MLP 108k vs 92k
/// samples/s, CNN 1.4k vs under 0.1k), so one choice serves every model.
pub const FASTEST_CPU_BACKEND: DeviceChoice = DeviceChoice::Flex;

/// Resolves `choice` to a working device. `auto` falls back to [`FASTEST_CPU_BACKEND`] when
/// the hardware adapter it picked fails to start (a driver that lists a GPU it cannot open,
/// a device lost at creation), saying why in the returned `reason`; an explicit `wgpu` fails
/// instead, since the user asked for that backend.
pub fn select_device(choice: DeviceChoice) -> Result<SelectedDevice, TrainError> {
    select_device_with(choice, wgpu_adapters, init_wgpu)
}

/// [`select_device`] with the adapter probe and the wgpu start as parameters, so the fallback
/// can be tested without a GPU.
fn select_device_with(
    choice: DeviceChoice,
    adapters: impl FnOnce() -> Vec<Adapter>,
    start_wgpu: impl FnOnce() -> Result<Device, TrainError>,
) -> Result<SelectedDevice, TrainError> {
    match choice {
        DeviceChoice::Flex => Ok(cpu(DeviceChoice::Flex, "flex (asked for)".into())),
        DeviceChoice::NdArray => Ok(cpu(DeviceChoice::NdArray, "ndarray (asked for)".into())),
        DeviceChoice::Wgpu => {
            let adapters = adapters();
            let Some(best) = adapters.iter().find(|a| a.hardware).or(adapters.first()) else {
                return Err(TrainError::Device(
                    "wgpu: no graphics adapter found (install a Vulkan driver, e.g. Debian's \
                     mesa-vulkan-drivers for the lavapipe software adapter)"
                        .into(),
                ));
            };
            let reason = format!(
                "wgpu (asked for) on {} [{}{}]",
                best.name,
                best.api,
                if best.hardware { "" } else { ", software" }
            );
            Ok(SelectedDevice {
                device: start_wgpu()?,
                backend: DeviceChoice::Wgpu,
                reason,
            })
        }
        DeviceChoice::Auto => Ok(select_auto(&adapters(), start_wgpu)),
    }
}

/// `auto`: wgpu on the first hardware adapter when it starts, else the fastest CPU backend.
fn select_auto(
    adapters: &[Adapter],
    start_wgpu: impl FnOnce() -> Result<Device, TrainError>,
) -> SelectedDevice {
    let backend = FASTEST_CPU_BACKEND;
    let why_not_gpu = match adapters.iter().find(|a| a.hardware) {
        Some(gpu) => {
            // `init_wgpu` catches the runtime's panics; a starter that panics anyway
            // must not take `auto` down with it either.
            let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(start_wgpu))
                .unwrap_or_else(|_| {
                    Err(TrainError::Device(
                        "wgpu: the runtime panicked while starting".into(),
                    ))
                });
            match started {
                Ok(device) => {
                    return SelectedDevice {
                        device,
                        backend: DeviceChoice::Wgpu,
                        reason: format!(
                            "auto: wgpu on hardware adapter {} [{}]",
                            gpu.name, gpu.api
                        ),
                    };
                }
                Err(e) => format!(
                    "hardware adapter {} [{}] failed to start: {}",
                    gpu.name,
                    gpu.api,
                    start_failure(&e)
                ),
            }
        }
        None => match adapters.first() {
            Some(a) => format!("only a software adapter ({})", a.name),
            None => "no GPU adapter".into(),
        },
    };
    cpu(
        backend,
        format!("auto: {backend} ({why_not_gpu}; {backend} is the faster CPU backend)"),
    )
}

/// What a failed wgpu start said, without the `device: wgpu: ` prefix the error would add
/// when printed on its own.
fn start_failure(e: &TrainError) -> String {
    match e {
        TrainError::Device(message) => message
            .strip_prefix("wgpu: ")
            .unwrap_or(message)
            .to_string(),
        other => other.to_string(),
    }
}

fn cpu(backend: DeviceChoice, reason: String) -> SelectedDevice {
    let device = match backend {
        // Deprecated by Burn in favour of flex; kept because users and the benchmark compare it.
        #[allow(deprecated)]
        DeviceChoice::NdArray => Device::ndarray(),
        _ => Device::flex(),
    };
    SelectedDevice {
        device,
        backend,
        reason,
    }
}

/// The devices of a data-parallel run (`--devices`, `[train] devices`), each entry one of
/// `flex`, `ndarray`, `wgpu` (the default adapter), `wgpu:N` (the N-th discrete GPU),
/// `wgpu:integrated:N`, `wgpu:virtual:N` or `wgpu:cpu` (a software adapter such as lavapipe).
/// The first holds the model and the optimizer.
pub fn select_devices(specs: &[String]) -> Result<Vec<SelectedDevice>, TrainError> {
    let adapters = std::sync::OnceLock::new();
    let count = |kind: &str| {
        adapters
            .get_or_init(wgpu_adapters)
            .iter()
            .filter(|a: &&Adapter| a.kind == kind)
            .count()
    };
    let bad = |spec: &str, why: String| {
        TrainError::Config(format!("train.devices: {}: {why}", quote(spec)))
    };
    specs
        .iter()
        .map(|spec| {
            let (kind, label) = match spec.as_str() {
                "flex" => return Ok(cpu(DeviceChoice::Flex, "flex".into())),
                "ndarray" => return Ok(cpu(DeviceChoice::NdArray, "ndarray".into())),
                "wgpu" => (DeviceKind::DefaultDevice, "default"),
                "wgpu:cpu" => (DeviceKind::Cpu, "cpu"),
                other => {
                    let rest = other.strip_prefix("wgpu:").ok_or_else(|| {
                        bad(
                            other,
                            "expected flex, ndarray, wgpu, wgpu:N, wgpu:integrated:N, \
                             wgpu:virtual:N or wgpu:cpu"
                                .into(),
                        )
                    })?;
                    let (label, index) = match rest.split_once(':') {
                        Some((label, index)) => (label, index),
                        None => ("discrete", rest),
                    };
                    let index: usize = index.parse().map_err(|_| {
                        bad(other, format!("{} is not a device index", quote(index)))
                    })?;
                    let kind = match label {
                        "discrete" => DeviceKind::DiscreteGpu(index),
                        "integrated" => DeviceKind::IntegratedGpu(index),
                        "virtual" => DeviceKind::VirtualGpu(index),
                        _ => {
                            return Err(bad(
                                other,
                                format!("unknown adapter kind {}", quote(label)),
                            ));
                        }
                    };
                    let found = count(label);
                    if index >= found {
                        return Err(bad(
                            other,
                            format!("this machine has {found} {label} wgpu adapter(s)"),
                        ));
                    }
                    (kind, label)
                }
            };
            if label == "cpu" && count("cpu") == 0 {
                return Err(bad(
                    spec,
                    "no software wgpu adapter (lavapipe) found".into(),
                ));
            }
            Ok(SelectedDevice {
                device: init_wgpu_kind(kind)?,
                backend: DeviceChoice::Wgpu,
                reason: format!("wgpu ({label} adapter)"),
            })
        })
        .collect()
}

fn init_wgpu() -> Result<Device, TrainError> {
    init_wgpu_kind(DeviceKind::DefaultDevice)
}

/// Starts the wgpu runtime of `kind` once per process: Burn refuses a second `init` of the
/// same device ("Service already initialized"), and a process may train several runs.
fn init_wgpu_kind(kind: DeviceKind) -> Result<Device, TrainError> {
    static STARTED: std::sync::Mutex<Vec<(String, Device)>> = std::sync::Mutex::new(Vec::new());
    let key = format!("{kind:?}");
    let mut started = STARTED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, device)) = started.iter().find(|(k, _)| *k == key) {
        return Ok(device.clone());
    }
    let attempt =
        std::panic::catch_unwind(|| Device::wgpu_options().device_kind(kind.clone()).init());
    let device = match attempt {
        Ok(Ok(device)) => device,
        // Burn starts the default runtime itself when it materializes tensors on
        // `Device::default()` (burn-optim's `ModuleOptimizer::load_record` does, on resume):
        // that runtime is the one wanted, so take the lazy handle that reuses it.
        Ok(Err(e)) if e.to_string().contains("already initialized") => Device::wgpu(kind),
        Ok(Err(e)) => return Err(TrainError::Device(format!("wgpu: cannot start: {e}"))),
        Err(_) => {
            return Err(TrainError::Device(
                "wgpu: the runtime panicked while starting".into(),
            ));
        }
    };
    started.push((key, device.clone()));
    Ok(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        for name in DeviceChoice::NAMES {
            assert_eq!(name.parse::<DeviceChoice>().unwrap().to_string(), name);
        }
        let err = "nonsense".parse::<DeviceChoice>().unwrap_err();
        assert!(err.contains("nonsense") && err.contains("flex"), "{err}");
    }

    fn gpu() -> Vec<Adapter> {
        vec![Adapter {
            name: "Test GPU".into(),
            api: "Vulkan".into(),
            hardware: true,
            kind: "discrete",
        }]
    }

    fn failing_start() -> Result<Device, TrainError> {
        Err(TrainError::Device("wgpu: cannot start: device lost".into()))
    }

    #[test]
    fn auto_falls_back_to_the_cpu_when_the_hardware_adapter_fails_to_start() {
        let s = select_device_with(DeviceChoice::Auto, gpu, failing_start).unwrap();
        assert_eq!(s.backend, FASTEST_CPU_BACKEND);
        assert!(
            s.reason
                .contains("Test GPU [Vulkan] failed to start: cannot start: device lost"),
            "{}",
            s.reason
        );
    }

    #[test]
    fn auto_falls_back_to_the_cpu_when_starting_the_adapter_panics() {
        let s = select_device_with(DeviceChoice::Auto, gpu, || -> Result<Device, TrainError> {
            panic!("simulated adapter panic")
        })
        .unwrap();
        assert_eq!(s.backend, FASTEST_CPU_BACKEND);
        assert!(s.reason.contains("panicked while starting"), "{}", s.reason);
    }

    #[test]
    fn an_explicit_wgpu_still_fails_when_the_adapter_fails_to_start() {
        let err = select_device_with(DeviceChoice::Wgpu, gpu, failing_start).unwrap_err();
        assert!(err.to_string().contains("device lost"), "{err}");
    }

    #[test]
    fn cpu_choices_need_no_probe() {
        let s = select_device(DeviceChoice::Flex).unwrap();
        assert_eq!(s.backend, DeviceChoice::Flex);
    }
}
