//! Scalar types, literals, buffer declarations.

use std::fmt;

/// The scalar type of a value or of a buffer element.
///
/// Every value is 32 bits wide. `Bool` exists only as the type of expressions
/// (conditions, comparisons); buffers hold `U32`, `I32` or `F32` elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataType {
    /// Unsigned 32-bit integer, wrapping arithmetic.
    U32,
    /// Signed 32-bit two's-complement integer, wrapping arithmetic.
    I32,
    /// IEEE-754 binary32.
    F32,
    /// Boolean; never stored in a buffer.
    Bool,
}

impl DataType {
    /// True for `U32` and `I32`.
    pub fn is_integer(self) -> bool {
        matches!(self, DataType::U32 | DataType::I32)
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A literal value. `F32` holds the raw bits so literals compare and hash exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Literal {
    /// A `u32` constant.
    U32(u32),
    /// An `i32` constant.
    I32(i32),
    /// An `f32` constant, stored as its IEEE-754 bits.
    F32(u32),
    /// A boolean constant.
    Bool(bool),
}

impl Literal {
    /// The type of this literal.
    pub fn ty(self) -> DataType {
        match self {
            Literal::U32(_) => DataType::U32,
            Literal::I32(_) => DataType::I32,
            Literal::F32(_) => DataType::F32,
            Literal::Bool(_) => DataType::Bool,
        }
    }

    /// The literal as a raw 32-bit word (bools are 0 or 1).
    pub fn bits(self) -> u32 {
        match self {
            Literal::U32(v) => v,
            Literal::I32(v) => v as u32,
            Literal::F32(b) => b,
            Literal::Bool(b) => b as u32,
        }
    }
}

/// How a program may access a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Storage buffer, read only (`var<storage, read>`).
    ReadOnly,
    /// Storage buffer, read and write; the only access that allows atomics on
    /// host-visible data (`var<storage, read_write>`).
    ReadWrite,
    /// Uniform buffer: read only, small, same value for all invocations. Needs a
    /// fixed length that is a multiple of 4 elements.
    Uniform,
    /// Workgroup-shared memory (`var<workgroup>`): not visible to the host,
    /// zero at the start of every workgroup, needs a fixed length. Atomics allowed.
    Workgroup,
    /// A constant table ([`BufferDecl::constant`]): its words are part of the
    /// program ([`BufferDecl::data`]), read only, not supplied by the host. For
    /// lookup tables read at random (CRC tables): the GPU backend copies it
    /// into workgroup memory at the start of every workgroup, so it counts
    /// against the workgroup memory limit and its reads are workgroup-memory
    /// reads.
    Constant,
}

impl Access {
    /// True when the program may store into the buffer.
    pub fn is_writable(self) -> bool {
        matches!(self, Access::ReadWrite | Access::Workgroup)
    }

    /// True when the buffer may be the target of atomic operations.
    pub fn allows_atomics(self) -> bool {
        matches!(self, Access::ReadWrite | Access::Workgroup)
    }

    /// True when the host supplies and reads back the buffer's contents.
    pub fn is_host_visible(self) -> bool {
        !matches!(self, Access::Workgroup | Access::Constant)
    }

    /// True when the buffer takes workgroup memory on the GPU (workgroup
    /// buffers, and constant tables, which are copied there): what counts
    /// against the workgroup memory limit.
    pub fn in_workgroup_memory(self) -> bool {
        matches!(self, Access::Workgroup | Access::Constant)
    }

    /// True when the buffer is bound to a binding of bind group 0: host
    /// buffers, and constant tables (whose words the backend uploads).
    pub fn is_bound(self) -> bool {
        self != Access::Workgroup
    }
}

/// A named buffer that a [`Program`](super::Program) reads or writes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BufferDecl {
    /// Name used by loads, stores and atomics.
    pub name: String,
    /// Binding index in bind group 0 (ignored for workgroup buffers).
    pub binding: u32,
    /// Element type: `U32`, `I32` or `F32`.
    pub elem: DataType,
    /// How the program may access it.
    pub access: Access,
    /// Fixed number of elements, or `None` when the length is set at run time
    /// by the data the host supplies.
    pub len: Option<u32>,
    /// The words of an [`Access::Constant`] table (raw bits of its elements,
    /// `len` of them); empty for every other buffer.
    pub data: Vec<u32>,
}

impl BufferDecl {
    /// A read-only storage buffer of run-time length.
    pub fn read(name: &str, binding: u32, elem: DataType) -> Self {
        Self {
            name: name.to_string(),
            binding,
            elem,
            access: Access::ReadOnly,
            len: None,
            data: Vec::new(),
        }
    }

    /// A read-write storage buffer of run-time length.
    pub fn read_write(name: &str, binding: u32, elem: DataType) -> Self {
        Self {
            name: name.to_string(),
            binding,
            elem,
            access: Access::ReadWrite,
            len: None,
            data: Vec::new(),
        }
    }

    /// A uniform buffer of `len` elements (a multiple of 4).
    pub fn uniform(name: &str, binding: u32, elem: DataType, len: u32) -> Self {
        Self {
            name: name.to_string(),
            binding,
            elem,
            access: Access::Uniform,
            len: Some(len),
            data: Vec::new(),
        }
    }

    /// A workgroup-shared array of `len` elements.
    pub fn workgroup(name: &str, elem: DataType, len: u32) -> Self {
        Self {
            name: name.to_string(),
            binding: u32::MAX,
            elem,
            access: Access::Workgroup,
            len: Some(len),
            data: Vec::new(),
        }
    }

    /// A constant table holding `words` (raw bits of `elem` values), bound at
    /// `binding` ([`Access::Constant`]).
    pub fn constant(name: &str, binding: u32, elem: DataType, words: Vec<u32>) -> Self {
        Self {
            name: name.to_string(),
            binding,
            elem,
            access: Access::Constant,
            len: Some(u32::try_from(words.len()).unwrap_or(u32::MAX)),
            data: words,
        }
    }

    /// Sets a fixed length.
    pub fn with_len(mut self, len: u32) -> Self {
        self.len = Some(len);
        self
    }
}
