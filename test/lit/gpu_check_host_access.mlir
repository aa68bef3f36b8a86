// RUN: %tfn-opt %s --verify-diagnostics --tfn-gpu-check-host-access

// Host code that would read a device buffer is an error at compile time, at the op.
func.func @_tfn_entry(%x: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{tfn-gpu-check-host-access: the GPU lowering left 'memref.load' on the host, where it would read device memory}}
  %v = memref.load %x[%c0] : memref<4xf32>
  return %v : f32
}

// Code inside a gpu.module may.
gpu.module @kernels {
  gpu.func @k(%x: memref<4xf32>) kernel {
    %c0 = arith.constant 0 : index
    %v = memref.load %x[%c0] : memref<4xf32>
    gpu.return
  }
}

// Host stack buffers (where tfn-gpu-host-reads copies scalars the host reads) may be read.
func.func @host_buffer() -> f32 {
  %host = memref.alloca() : memref<f32>
  %v = memref.load %host[] : memref<f32>
  return %v : f32
}
