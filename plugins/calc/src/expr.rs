//! A small expression evaluator: numbers (with `_` separators and exponents), `+ - * / %`,
//! `^` (right-associative), unary minus, parentheses, the constants `pi`, `e` and `tau`, and the
//! functions `sqrt abs ln log10 log2 exp sin cos tan asin acos atan floor ceil round trunc`,
//! `min(a, b, ...)`, `max(a, b, ...)`, `pow(a, b)`, `hypot(a, b)`.

/// How deeply expressions may nest (the guest's stack is small and bounded).
pub const MAX_DEPTH: usize = 64;
/// Longest expression accepted.
pub const MAX_LEN: usize = 4096;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Name(String),
    Op(char),
    LParen,
    RParen,
    Comma,
}

fn tokenize(input: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '0'..='9' | '.' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == '_') {
                    i += 1;
                }
                if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                    let mut j = i + 1;
                    if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                        j += 1;
                    }
                    if j < chars.len() && chars[j].is_ascii_digit() {
                        i = j;
                        while i < chars.len() && chars[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                }
                let text: String = chars[start..i].iter().filter(|c| **c != '_').collect();
                let value = text.parse::<f64>().map_err(|_| format!("\"{text}\" is not a number"))?;
                tokens.push(Token::Number(value));
            }
            'a'..='z' | 'A'..='Z' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                tokens.push(Token::Name(
                    chars[start..i].iter().collect::<String>().to_ascii_lowercase(),
                ));
            }
            '+' | '-' | '*' | '/' | '%' | '^' => {
                // `**` is a common spelling of power.
                if c == '*' && chars.get(i + 1) == Some(&'*') {
                    tokens.push(Token::Op('^'));
                    i += 2;
                } else {
                    tokens.push(Token::Op(c));
                    i += 1;
                }
            }
            '×' => {
                tokens.push(Token::Op('*'));
                i += 1;
            }
            '÷' => {
                tokens.push(Token::Op('/'));
                i += 1;
            }
            '(' => {
                tokens.push(Token::LParen);
                i += 1;
            }
            ')' => {
                tokens.push(Token::RParen);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            other => return Err(format!("unexpected character '{other}'")),
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("the expression nests deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    // sum := product (('+' | '-') product)*
    fn sum(&mut self) -> Result<f64, String> {
        let mut value = self.product()?;
        while let Some(Token::Op(op @ ('+' | '-'))) = self.peek().cloned() {
            self.pos += 1;
            let rhs = self.product()?;
            value = if op == '+' { value + rhs } else { value - rhs };
        }
        Ok(value)
    }

    // product := unary (('*' | '/' | '%') unary)*
    fn product(&mut self) -> Result<f64, String> {
        let mut value = self.unary()?;
        while let Some(Token::Op(op @ ('*' | '/' | '%'))) = self.peek().cloned() {
            self.pos += 1;
            let rhs = self.unary()?;
            value = match op {
                '*' => value * rhs,
                '/' if rhs == 0.0 => return Err("division by zero".into()),
                '/' => value / rhs,
                _ if rhs == 0.0 => return Err("remainder by zero".into()),
                _ => value % rhs,
            };
        }
        Ok(value)
    }

    // unary := ('-' | '+') unary | power
    fn unary(&mut self) -> Result<f64, String> {
        match self.peek() {
            Some(Token::Op('-')) => {
                self.pos += 1;
                self.enter()?;
                let v = -self.unary()?;
                self.depth -= 1;
                Ok(v)
            }
            Some(Token::Op('+')) => {
                self.pos += 1;
                self.enter()?;
                let v = self.unary()?;
                self.depth -= 1;
                Ok(v)
            }
            _ => self.power(),
        }
    }

    // power := atom ('^' unary)?   (right-associative, binds tighter than unary minus on its left)
    fn power(&mut self) -> Result<f64, String> {
        let base = self.atom()?;
        if let Some(Token::Op('^')) = self.peek() {
            self.pos += 1;
            self.enter()?;
            let exponent = self.unary()?;
            self.depth -= 1;
            return Ok(base.powf(exponent));
        }
        Ok(base)
    }

    fn atom(&mut self) -> Result<f64, String> {
        match self.next() {
            Some(Token::Number(n)) => Ok(n),
            Some(Token::LParen) => {
                self.enter()?;
                let v = self.sum()?;
                self.depth -= 1;
                match self.next() {
                    Some(Token::RParen) => Ok(v),
                    _ => Err("missing ')'".into()),
                }
            }
            Some(Token::Name(name)) => {
                if let Some(Token::LParen) = self.peek() {
                    self.pos += 1;
                    self.enter()?;
                    let mut args = Vec::new();
                    if self.peek() != Some(&Token::RParen) {
                        loop {
                            args.push(self.sum()?);
                            match self.next() {
                                Some(Token::Comma) => continue,
                                Some(Token::RParen) => break,
                                _ => return Err(format!("missing ')' after the arguments of {name}")),
                            }
                        }
                    } else {
                        self.pos += 1;
                    }
                    self.depth -= 1;
                    return call(&name, &args);
                }
                match name.as_str() {
                    "pi" => Ok(std::f64::consts::PI),
                    "e" => Ok(std::f64::consts::E),
                    "tau" => Ok(std::f64::consts::TAU),
                    other => Err(format!("unknown name \"{other}\"")),
                }
            }
            Some(other) => Err(format!("unexpected {other:?}")),
            None => Err("the expression ends too early".into()),
        }
    }
}

fn call(name: &str, args: &[f64]) -> Result<f64, String> {
    let one = |f: fn(f64) -> f64| match args {
        [x] => Ok(f(*x)),
        _ => Err(format!("{name} takes one argument")),
    };
    let two = |f: fn(f64, f64) -> f64| match args {
        [a, b] => Ok(f(*a, *b)),
        _ => Err(format!("{name} takes two arguments")),
    };
    match name {
        "sqrt" => one(f64::sqrt),
        "abs" => one(f64::abs),
        "ln" => one(f64::ln),
        "log10" | "log" => one(f64::log10),
        "log2" => one(f64::log2),
        "exp" => one(f64::exp),
        "sin" => one(f64::sin),
        "cos" => one(f64::cos),
        "tan" => one(f64::tan),
        "asin" => one(f64::asin),
        "acos" => one(f64::acos),
        "atan" => one(f64::atan),
        "floor" => one(f64::floor),
        "ceil" => one(f64::ceil),
        "round" => one(f64::round),
        "trunc" => one(f64::trunc),
        "pow" => two(f64::powf),
        "hypot" => two(f64::hypot),
        "min" | "max" if args.is_empty() => Err(format!("{name} needs at least one argument")),
        "min" => Ok(args.iter().copied().fold(f64::INFINITY, f64::min)),
        "max" => Ok(args.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
        other => Err(format!("unknown function \"{other}\"")),
    }
}

/// Evaluates `input`.
pub fn evaluate(input: &str) -> Result<f64, String> {
    if input.len() > MAX_LEN {
        return Err(format!("the expression is longer than {MAX_LEN} characters"));
    }
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return Err("the expression is empty".into());
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let value = parser.sum()?;
    if let Some(extra) = parser.peek() {
        return Err(format!("unexpected {extra:?} after the expression"));
    }
    if !value.is_finite() {
        return Err(format!("the result is not a finite number ({value})"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_with_precedence() {
        let cases = [
            ("1 + 2 * 3", 7.0),
            ("(1 + 2) * 3", 9.0),
            ("2 ^ 3 ^ 2", 512.0),
            ("-2 ^ 2", -4.0),
            ("2 ** 10", 1024.0),
            ("10 % 4", 2.0),
            ("1_000 * 1.5e3", 1_500_000.0),
            ("max(1, 7, 3) - min(4, 2)", 5.0),
            ("sqrt(16) + abs(-2) + round(2.5)", 9.0),
            ("hypot(3, 4)", 5.0),
            ("6 × 7 ÷ 2", 21.0),
        ];
        for (input, expected) in cases {
            assert_eq!(evaluate(input), Ok(expected), "{input}");
        }
        assert!((evaluate("sin(pi / 2)").unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn errors_name_the_problem() {
        for (input, part) in [
            ("1 / 0", "division by zero"),
            ("2 +", "ends too early"),
            ("(1 + 2", "missing ')'"),
            ("foo(1)", "unknown function"),
            ("x + 1", "unknown name"),
            ("1 $ 2", "unexpected character"),
            ("", "empty"),
            ("1 2", "after the expression"),
            ("sqrt(1, 2)", "one argument"),
            ("10 ^ 400", "not a finite number"),
        ] {
            let err = evaluate(input).unwrap_err();
            assert!(err.contains(part), "{input}: {err}");
        }
        let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert!(evaluate(&deep).unwrap_err().contains("nests deeper"));
        let unary = format!("{}1", "-".repeat(100));
        assert!(evaluate(&unary).unwrap_err().contains("nests deeper"));
    }
}
