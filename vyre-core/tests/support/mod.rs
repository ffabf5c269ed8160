pub mod progen;
