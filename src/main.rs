fn main() {
    println!("mucsim");
}
