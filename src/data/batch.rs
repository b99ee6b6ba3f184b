//! A batch of images and labels ready for a network.

use tch::Tensor;

/// Images [N, 3, H, W] f32 (already normalised) and labels \[N\] i64.
#[derive(Debug)]
pub struct Batch {
    /// Normalised images, NCHW, f32.
    pub images: Tensor,
    /// Class ids, i64.
    pub labels: Tensor,
}

impl Batch {
    /// Number of samples N.
    pub fn len(&self) -> usize {
        self.images.size()[0] as usize
    }

    /// True when N = 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch on another device.
    pub fn to_device(&self, d: tch::Device) -> Batch {
        Batch { images: self.images.to_device(d), labels: self.labels.to_device(d) }
    }
}
