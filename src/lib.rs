pub fn version() -> String { format!("{:?}", tch::Device::Cpu) }
