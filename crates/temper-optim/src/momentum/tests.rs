//! Whole optimizer trajectories with a cycled momentum or `beta1` against PyTorch's.
//!
//! Each case runs ten steps on `w0 = [1, -2, 0.5]` with loss `sum(w * g_t)` (so the gradient
//! is `g_t`), the schedule handing the rate and the momentum to every step as the training
//! loop does. The expected weights are PyTorch 2.15's (CPU, float32), printed by:
//!
//! ```python
//! import torch
//! from torch.optim.lr_scheduler import OneCycleLR, CyclicLR
//! W0 = [1.0, -2.0, 0.5]
//! G = [[2.0, -1.0, 0.5], [-1.0, 3.0, 0.25], [0.5, 0.5, -2.0], [1.5, -0.5, 1.0],
//!      [-2.0, 1.0, 0.75]]
//! def traj(opt_ctor, sched_ctor, n=10):
//!     w = torch.nn.Parameter(torch.tensor(W0, dtype=torch.float32))
//!     opt = opt_ctor([w]); s = sched_ctor(opt)
//!     out = []
//!     for t in range(n):
//!         opt.zero_grad()
//!         (w * torch.tensor(G[t % len(G)], dtype=torch.float32)).sum().backward()
//!         opt.step(); s.step()
//!         out.append([float(x) for x in w.detach()])
//!     return out
//! traj(lambda ps: torch.optim.SGD(ps, lr=0.1),
//!      lambda o: OneCycleLR(o, max_lr=0.1, total_steps=10))
//! traj(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
//!      lambda o: OneCycleLR(o, max_lr=0.1, total_steps=10, three_phase=True))
//! traj(lambda ps: torch.optim.Adam(ps, lr=0.01),
//!      lambda o: OneCycleLR(o, max_lr=0.01, total_steps=10, anneal_strategy='linear'))
//! traj(lambda ps: torch.optim.AdamW(ps, lr=0.01),
//!      lambda o: CyclicLR(o, base_lr=0.001, max_lr=0.01, step_size_up=2, step_size_down=3,
//!                         mode='triangular2'))
//! traj(lambda ps: torch.optim.RMSprop(ps, lr=0.01),
//!      lambda o: CyclicLR(o, base_lr=0.001, max_lr=0.01, step_size_up=2, step_size_down=3,
//!                         mode='exp_range', gamma=0.9))
//! ```

use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};

use crate::{LrSchedule, MomentumCell, OptimizerKind, OptimizerSettings, ScheduleSettings};

const W0: [f32; 3] = [1.0, -2.0, 0.5];
const G: [[f32; 3]; 5] = [
    [2.0, -1.0, 0.5],
    [-1.0, 3.0, 0.25],
    [0.5, 0.5, -2.0],
    [1.5, -0.5, 1.0],
    [-2.0, 1.0, 0.75],
];

/// The weights after each of ten steps of `optim` under `schedule`, its momentum cycled.
fn trajectory(optim: &OptimizerSettings, schedule: &str) -> Vec<[f32; 3]> {
    let settings: ScheduleSettings = toml::from_str(schedule).unwrap();
    let lr = optim.resolve().unwrap().learning_rate();
    let mut schedule = LrSchedule::new(&settings, lr, 1, 10).unwrap();
    let cell = MomentumCell::new(schedule.momentum_at(0).unwrap());
    let mut opt = optim.init_cycled(&cell).unwrap();
    let device = Device::flex().autodiff();
    let mut model: Linear = LinearConfig::new(3, 1).with_bias(false).init(&device);
    model.weight = model
        .weight
        .map(|_| Tensor::from_data(TensorData::new(W0.to_vec(), [3, 1]), &device).require_grad());
    let mut out = Vec::new();
    for t in 0..10 {
        let lr = schedule.next_lr();
        cell.set(schedule.momentum().unwrap());
        let x = Tensor::<2>::from_data(TensorData::new(G[t % 5].to_vec(), [1, 3]), &device);
        let grads = GradientsParams::from_grads(model.forward(x).sum().backward(), &model);
        model = opt.step(lr, model, grads);
        let w = model.weight.val().into_data().try_to_vec::<f32>().unwrap();
        out.push([w[0], w[1], w[2]]);
    }
    out
}

/// `got` within float32 rounding of PyTorch's `want` (printed as f64 from float32 values).
fn assert_trajectory(name: &str, got: &[[f32; 3]], want: &[[f64; 3]]) {
    assert_eq!(got.len(), want.len());
    for (t, (g, w)) in got.iter().zip(want).enumerate() {
        for i in 0..3 {
            assert!(
                (g[i] as f64 - w[i]).abs() <= 2e-6 * w[i].abs().max(1.0),
                "{name}, step {}: got {g:?}, PyTorch {w:?}",
                t + 1
            );
        }
    }
}

fn settings(kind: OptimizerKind, lr: f64) -> OptimizerSettings {
    OptimizerSettings {
        kind,
        lr: Some(lr),
        ..Default::default()
    }
}

#[test]
fn sgd_momentum_cycles_as_pytorch_one_cycle_overwrites_it() {
    // PyTorch's OneCycleLR writes max_momentum into an SGD configured without momentum.
    let got = trajectory(
        &settings(OptimizerKind::Sgd, 0.1),
        "kind = 'one-cycle'\ninterval = 'step'",
    );
    let want = [
        [0.9919999837875366, -1.996000051498413, 0.49799999594688416],
        [0.9503999948501587, -2.1052000522613525, 0.46160000562667847],
        [0.8323999643325806, -2.333699941635132, 0.6021000146865845],
        [0.5939382910728455, -2.4718589782714844, 0.6212244033813477],
        [0.5793474316596985, -2.655548334121704, 0.5745338797569275],
        [0.4473287761211395, -2.7173731327056885, 0.512718915939331],
        [0.40970537066459656, -2.8698198795318604, 0.4671819508075714],
        [0.38332635164260864, -2.9479777812957764, 0.4842989444732666],
        [0.36934101581573486, -2.964930772781372, 0.48360204696655273],
        [0.3693407475948334, -2.964932441711426, 0.4836016893386841],
    ];
    assert_trajectory("sgd one-cycle", &got, &want);
}

#[test]
fn nesterov_sgd_follows_pytorch_three_phase_one_cycle() {
    let mut sgd = settings(OptimizerKind::Sgd, 0.1);
    (sgd.momentum, sgd.nesterov) = (Some(0.9), Some(true));
    let got = trajectory(
        &sgd,
        "kind = 'one-cycle'\ninterval = 'step'\nthree_phase = true",
    );
    let want = [
        [0.9843999743461609, -1.9922000169754028, 0.4961000084877014],
        [0.9989599585533142, -2.2464799880981445, 0.45034000277519226],
        [0.8486599326133728, -2.4907050132751465, 0.7697650194168091],
        [0.6507583260536194, -2.5375492572784424, 0.7301436066627502],
        [0.6571094989776611, -2.5509681701660156, 0.7252484560012817],
        [0.641582190990448, -2.552006483078003, 0.7200923562049866],
        [0.6409878134727478, -2.570523977279663, 0.7165150046348572],
        [0.6380289196968079, -2.5772194862365723, 0.7204397916793823],
        [0.6363146901130676, -2.5784244537353516, 0.7199991345405579],
        [0.636315107345581, -2.5784265995025635, 0.7199984788894653],
    ];
    assert_trajectory("nesterov one-cycle", &got, &want);
}

#[test]
fn adam_beta1_follows_pytorch_linear_one_cycle() {
    let got = trajectory(
        &settings(OptimizerKind::Adam, 0.01),
        "kind = 'one-cycle'\ninterval = 'step'\nanneal = 'linear'",
    );
    let want = [
        [0.9995999932289124, -1.9996000528335571, 0.49959999322891235],
        [0.9997730851173401, -2.002720594406128, 0.4963107407093048],
        [0.998469889163971, -2.0068111419677734, 0.5019200444221497],
        [0.99477219581604, -2.0090177059173584, 0.5034117698669434],
        [0.9949057102203369, -2.011819362640381, 0.5032297968864441],
        [0.9934487342834473, -2.0129902362823486, 0.5024809241294861],
        [0.9929373860359192, -2.015021800994873, 0.5017204284667969],
        [0.992432713508606, -2.0165293216705322, 0.5021479725837708],
        [0.9919710755348206, -2.0172581672668457, 0.5021811127662659],
        [0.9919710755348206, -2.0172581672668457, 0.5021811127662659],
    ];
    assert_trajectory("adam one-cycle", &got, &want);
}

#[test]
fn adamw_beta1_follows_pytorch_triangular2_cyclic() {
    let got = trajectory(
        &settings(OptimizerKind::AdamW, 0.01),
        "kind = 'cyclic'\ninterval = 'step'\nbase_lr = 0.001\nstep_size_up = 2\n\
         step_size_down = 3\nmode = 'triangular2'",
    );
    let want = [
        [0.998989999294281, -1.998979926109314, 0.49899500608444214],
        [0.998684287071228, -2.0021045207977295, 0.49495571851730347],
        [0.996786892414093, -2.0062501430511475, 0.5006464123725891],
        [0.9932935833930969, -2.008140802383423, 0.5019405484199524],
        [0.9930795431137085, -2.0098376274108887, 0.5019076466560364],
        [0.9927636981010437, -2.0101280212402344, 0.501793622970581],
        [0.9924644827842712, -2.011768102645874, 0.5013423562049866],
        [0.9916777014732361, -2.0141782760620117, 0.5028889775276184],
        [0.9904159307479858, -2.0155458450317383, 0.5032175183296204],
        [0.9902738332748413, -2.016606092453003, 0.5031227469444275],
    ];
    assert_trajectory("adamw cyclic", &got, &want);
}

#[test]
fn rmsprop_momentum_follows_pytorch_exp_range_cyclic() {
    let got = trajectory(
        &settings(OptimizerKind::RmsProp, 0.01),
        "kind = 'cyclic'\ninterval = 'step'\nbase_lr = 0.001\nstep_size_up = 2\n\
         step_size_down = 3\nmode = 'exp_range'\ngamma = 0.9",
    );
    let want = [
        [0.9900000095367432, -1.9900000095367432, 0.49000000953674316],
        [0.9694976806640625, -1.9947550296783447, 0.4241473376750946],
        [0.9236865639686584, -2.014164686203003, 0.41550302505493164],
        [0.8686867952346802, -2.016500234603882, 0.38730883598327637],
        [0.8596820831298828, -2.026508092880249, 0.36436885595321655],
        [0.85181725025177, -2.0266647338867188, 0.3553663194179535],
        [0.8369932174682617, -2.0493557453155518, 0.32522836327552795],
        [0.8106262683868408, -2.0853891372680664, 0.3187609314918518],
        [0.7825122475624084, -2.1026880741119385, 0.30405789613723755],
        [0.7766772508621216, -2.1165778636932373, 0.2913545072078705],
    ];
    assert_trajectory("rmsprop cyclic", &got, &want);
}

#[test]
fn adagrad_cannot_cycle_momentum_and_the_error_names_the_key() {
    let adagrad = settings(OptimizerKind::AdaGrad, 0.01);
    let Err(err) = adagrad.init_cycled(&MomentumCell::new(0.95)) else {
        panic!("adagrad built with a cycled momentum");
    };
    assert_eq!(
        err.to_string(),
        "schedule.cycle_momentum: adagrad has no momentum or beta1 to cycle; set \
         cycle_momentum = false"
    );
    assert!(adagrad.init().is_ok());
}

#[test]
fn a_cell_is_shared_by_its_clones() {
    let cell = MomentumCell::new(0.95);
    let clone = cell.clone();
    cell.set(0.85);
    assert_eq!(clone.get(), 0.85);
}
