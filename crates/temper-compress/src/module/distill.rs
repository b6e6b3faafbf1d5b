//! Knowledge distillation's loss (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a
//! Neural Network", <https://arxiv.org/abs/1503.02531>):
//!
//! ```text
//! loss = alpha · T² · KL(softmax(z_t / T) ‖ softmax(z_s / T)) + (1 − alpha) · CE(z_s, y)
//! KL(p ‖ q) = (1/n) Σ_i Σ_k p_ik (log p_ik − log q_ik)
//! ```
//!
//! The KL term is averaged over the batch, as `torch.nn.functional.kl_div(log_q, p,
//! reduction="batchmean")`, the form the PyTorch recipes use (a per-element mean would divide
//! by the class count too). The `T²` factor keeps the soft term's gradients at the scale of the
//! hard term's as `T` changes: the soft targets' gradients scale as `1/T²` (section 2 of the
//! paper).

use burn::tensor::Tensor;
use burn::tensor::activation::{log_softmax, softmax};

/// `T² · KL(softmax(teacher / T) ‖ softmax(student / T))`, averaged over the batch. The
/// teacher's logits carry no gradient (they are detached here).
///
/// # Shapes
/// - student, teacher: `[batch, classes]`
/// - output: `[1]`
pub fn soft_distillation_term(
    student: Tensor<2>,
    teacher: Tensor<2>,
    temperature: f64,
) -> Tensor<1> {
    let [n, _] = student.dims();
    let teacher = teacher.detach().div_scalar(temperature);
    let p = softmax(teacher.clone(), 1);
    let log_p = log_softmax(teacher, 1);
    let log_q = log_softmax(student.div_scalar(temperature), 1);
    (p * (log_p - log_q))
        .sum()
        .div_scalar(n.max(1) as f64)
        .mul_scalar(temperature * temperature)
}

/// `alpha · T² · KL + (1 − alpha) · hard`, where `hard` is the student's cross-entropy against
/// the labels (or soft targets) the caller computed.
///
/// # Shapes
/// - student, teacher: `[batch, classes]`; hard: `[1]`
/// - output: `[1]`
pub fn distillation_loss(
    student: Tensor<2>,
    teacher: Tensor<2>,
    hard: Tensor<1>,
    temperature: f64,
    alpha: f64,
) -> Tensor<1> {
    let soft = soft_distillation_term(student, teacher, temperature);
    soft.mul_scalar(alpha) + hard.mul_scalar(1.0 - alpha)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn logits(values: &[f32], device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(values.to_vec(), [2, 3]), device)
    }

    /// softmax(z / t), in f64.
    fn soft(z: &[f64], t: f64) -> Vec<f64> {
        let e: Vec<f64> = z.iter().map(|v| (v / t).exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|v| v / s).collect()
    }

    /// The formula written out: `T² · (1/n) Σ_i Σ_k p_ik ln(p_ik / q_ik)`.
    fn by_hand(student: &[f64], teacher: &[f64], t: f64) -> f64 {
        let mut kl = 0.0;
        for i in 0..2 {
            let p = soft(&teacher[3 * i..3 * i + 3], t);
            let q = soft(&student[3 * i..3 * i + 3], t);
            kl += p.iter().zip(&q).map(|(p, q)| p * (p / q).ln()).sum::<f64>();
        }
        t * t * kl / 2.0
    }

    const STUDENT: [f32; 6] = [1.0, 2.0, 0.5, -1.0, 0.0, 3.0];
    const TEACHER: [f32; 6] = [3.0, 1.0, 0.0, 0.5, -2.0, 2.5];

    fn term(t: f64) -> f64 {
        let device = Device::flex();
        let out = soft_distillation_term(logits(&STUDENT, &device), logits(&TEACHER, &device), t);
        f64::from(out.into_scalar::<f32>())
    }

    #[test]
    fn the_soft_term_is_t_squared_times_the_batch_mean_kl() {
        let s: Vec<f64> = STUDENT.iter().map(|&v| f64::from(v)).collect();
        let t: Vec<f64> = TEACHER.iter().map(|&v| f64::from(v)).collect();
        for temperature in [1.0, 2.0, 4.0] {
            let expected = by_hand(&s, &t, temperature);
            assert!(
                (term(temperature) - expected).abs() < 1e-5 * expected.max(1.0),
                "T = {temperature}: {} vs {expected}",
                term(temperature)
            );
        }
        // The T² factor: at T = 4 the term is 16 times the plain KL of the softened outputs.
        let kl4 = by_hand(&s, &t, 4.0) / 16.0;
        assert!((term(4.0) / kl4 - 16.0).abs() < 1e-3);
    }

    #[test]
    fn the_loss_weighs_the_soft_term_by_alpha_and_the_hard_one_by_the_rest() {
        let device = Device::flex();
        let hard = Tensor::<1>::from_data(TensorData::new(vec![0.8f32], [1]), &device);
        let loss = distillation_loss(
            logits(&STUDENT, &device),
            logits(&TEACHER, &device),
            hard,
            2.0,
            0.9,
        );
        let expected = 0.9 * term(2.0) + 0.1 * 0.8;
        assert!((f64::from(loss.into_scalar::<f32>()) - expected).abs() < 1e-5);
    }

    #[test]
    fn the_teacher_gets_no_gradient_and_a_matching_student_has_zero_soft_loss() {
        let device = Device::flex().autodiff();
        let student = logits(&TEACHER, &device).require_grad();
        let teacher = logits(&TEACHER, &device).require_grad();
        let loss = soft_distillation_term(student.clone(), teacher.clone(), 3.0);
        assert!(f64::from(loss.clone().into_scalar::<f32>()).abs() < 1e-6);
        let grads = loss.backward();
        assert!(teacher.grad(&grads).is_none());
        assert!(student.grad(&grads).is_some());
    }
}
