//! The channels-last memory layout: [N, C, H, W] tensors stored as [N, H, W, C], the layout
//! of the channels-last response passes (`proxy::pass::channels_last`), and the tensors
//! zsnas's own kernels take ([`bn_channels_last`](super::bn_channels_last),
//! [`avg_pool_channels_last`](super::avg_pool_channels_last)).

use tch::{Device, Kind, Tensor};

/// True when `x` [N, C, H, W] is dense channels-last (contiguous as [N, H, W, C]) and not
/// also channels-first (which it is when C = 1 or H·W = 1).
pub fn is_channels_last(x: &Tensor) -> bool {
    x.dim() == 4 && !x.is_contiguous() && x.permute([0, 2, 3, 1]).is_contiguous()
}

/// `x` [N, C, H, W] with the same values laid out channels-last (a copy; differentiable).
pub fn to_channels_last(x: &Tensor) -> Tensor {
    x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

/// True when `x` is a channels-last ([`is_channels_last`]) float32 CPU tensor: what
/// zsnas's own channels-last kernels take.
pub fn is_cpu_f32_channels_last(x: &Tensor) -> bool {
    x.kind() == Kind::Float && x.device() == Device::Cpu && is_channels_last(x)
}

#[cfg(test)]
mod tests {
    use super::{is_cpu_f32_channels_last, to_channels_last};
    use tch::{Device, Kind, Tensor};

    #[test]
    fn only_dense_channels_last_float_cpu_batches_qualify() {
        let x = Tensor::randn([2, 3, 4, 4], (Kind::Float, Device::Cpu));
        assert!(!is_cpu_f32_channels_last(&x));
        assert!(is_cpu_f32_channels_last(&to_channels_last(&x)));
        assert!(!is_cpu_f32_channels_last(&to_channels_last(&x.to_kind(Kind::Double))));
        // One pixel per image: channels-last is also channels-first.
        let one_pixel = Tensor::randn([2, 3, 1, 1], (Kind::Float, Device::Cpu));
        assert!(!is_cpu_f32_channels_last(&to_channels_last(&one_pixel)));
    }
}
