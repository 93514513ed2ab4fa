;; The CSV profiler's tokenizer (csv-profiler.ts), in WebAssembly: where
;; each field ends, and what each field is. Assembled by
;; validate/assemble-wasm.cjs into csv-tokens-wasm.ts.
;;
;; bounds(len, out): for each delimiter or \n outside quotes in memory[0,
;; len), the byte's offset as a u32 at out, out + 4, ..., the top bit set
;; for \n; returns how many. The same quote rules and states as the
;; validator's row scan (validate/csv-fields.wat, CsvScanner): a field
;; starting with a quote is quoted, "" inside it is a quote, delimiters
;; and line breaks inside it are data. Sixteen bytes are classified at
;; once (SIMD); a quoted field is crossed sixteen bytes at a time.
;;
;; classify(count, ends, width) (below): for the records those field
;; ends delimit, what pandas' read_csv would make of each field in its
;; commonest forms, so that
;; JavaScript touches no byte of them: a plain integer (up to 15 digits)
;; or decimal (up to 15 digits in all) with its value as pandas' float
;; parser computes it (precise_xstrtod: the digits' integer, divided by a
;; power of ten from the same table), text that is no missing-value,
;; boolean or infinity word, or an empty field; with each field's hash
;; (as hyperloglog.ts hashes: a number's value, else its bytes) and its
;; first eight bytes as two big-endian words (for text extremes). All
;; else (spaces around a number, exponents, long digits, words that may
;; be special, quotes inside quotes) is left to JavaScript (pandas-values.ts).
;;
;; The caller leaves room for a 16-byte load past the input and sets the
;; globals below to its arrays.
(module
  (memory (export "memory") 1)

  ;; Where classify writes: 32 bytes per field, at $fields + 32 * entry:
  ;; the f64 value, then u32s: the hash, the two key words, the start and
  ;; end of the content; then the u8 kind.
  (global $fields (export "fields") (mut i32) (i32.const 0))
  ;; 1e0 ... 1e22 as f64, and 256 bytes: 1 for the first bytes of the
  ;; words pandas reads specially (missing values, booleans, infinities).
  (global $powers (export "powers") (mut i32) (i32.const 0))
  (global $special (export "special") (mut i32) (i32.const 0))

  ;; 0 field start, 1 unquoted, 2 quoted, 3 quote seen inside quoted
  (global $state (export "state") (mut i32) (i32.const 0))
  (global $delimiter (export "delimiter") (mut i32) (i32.const 44))

  (func (export "bounds") (param $len i32) (param $out i32) (result i32)
    (local $state i32)
    (local $pos i32)
    (local $width i32)
    (local $next i32)
    (local $p i32)
    (local $mask i32)
    (local $byte i32)
    (local $at i32)
    (local $v v128)
    (local $delimiters v128)
    (local $quotes v128)
    (local $newlines v128)
    (local $returns v128)
    (local.set $state (global.get $state))
    (local.set $at (local.get $out))
    (local.set $delimiters (i8x16.splat (global.get $delimiter)))
    (local.set $quotes (i8x16.splat (i32.const 34)))
    (local.set $newlines (i8x16.splat (i32.const 10)))
    (local.set $returns (i8x16.splat (i32.const 13)))

    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $pos) (local.get $len)))
        ;; The block is [pos, pos + width); past the input's end, bytes
        ;; are loaded but their mask bits cleared.
        (local.set $width (i32.sub (local.get $len) (local.get $pos)))
        (if (i32.gt_u (local.get $width) (i32.const 16))
          (then (local.set $width (i32.const 16))))
        (local.set $v (v128.load (local.get $pos)))

        (if (i32.eq (local.get $state) (i32.const 2))
          (then
            ;; Inside a quoted field only a quote matters.
            (local.set $mask
              (i32.and
                (i8x16.bitmask (i8x16.eq (local.get $v) (local.get $quotes)))
                (i32.sub (i32.shl (i32.const 1) (local.get $width)) (i32.const 1))))
            (if (i32.eqz (local.get $mask))
              (then
                (local.set $pos (i32.add (local.get $pos) (local.get $width)))
                (br $blocks)))
            (local.set $pos
              (i32.add
                (local.get $pos)
                (i32.add (i32.ctz (local.get $mask)) (i32.const 1))))
            (local.set $state (i32.const 3))
            (br $blocks)))

        (local.set $mask
          (i32.and
            (i8x16.bitmask
              (v128.or
                (v128.or
                  (i8x16.eq (local.get $v) (local.get $delimiters))
                  (i8x16.eq (local.get $v) (local.get $newlines)))
                (v128.or
                  (i8x16.eq (local.get $v) (local.get $quotes))
                  (i8x16.eq (local.get $v) (local.get $returns)))))
            (i32.sub (i32.shl (i32.const 1) (local.get $width)) (i32.const 1))))
        (local.set $next (local.get $pos))
        (block $specials_done
          (loop $specials
            (br_if $specials_done (i32.eqz (local.get $mask)))
            (local.set $p (i32.add (local.get $pos) (i32.ctz (local.get $mask))))
            (local.set $mask
              (i32.and (local.get $mask) (i32.sub (local.get $mask) (i32.const 1))))
            ;; Plain bytes before it: data of an unquoted field, or after a
            ;; closing quote.
            (if (i32.gt_u (local.get $p) (local.get $next))
              (then (local.set $state (i32.const 1))))
            (local.set $next (i32.add (local.get $p) (i32.const 1)))
            (local.set $byte (i32.load8_u (local.get $p)))
            ;; \r is not data to the validator: it only ends a quote's
            ;; meaning as a possible "" (as CsvScanner).
            (if (i32.eq (local.get $byte) (i32.const 13))
              (then
                (if (i32.eq (local.get $state) (i32.const 3))
                  (then (local.set $state (i32.const 1))))
                (br $specials)))
            (if (i32.eq (local.get $byte) (i32.const 34))
              (then
                ;; At a field's start it opens a quoted field; right after
                ;; a closing quote it is the second half of ""; elsewhere
                ;; it is data.
                (if (i32.or
                      (i32.eqz (local.get $state))
                      (i32.eq (local.get $state) (i32.const 3)))
                  (then
                    (local.set $state (i32.const 2))
                    (local.set $pos (local.get $next))
                    (br $blocks)))
                (local.set $state (i32.const 1))
                (br $specials)))
            (i32.store
              (local.get $at)
              (if (result i32) (i32.eq (local.get $byte) (i32.const 10))
                (then (i32.or (local.get $p) (i32.const 0x80000000)))
                (else (local.get $p))))
            (local.set $at (i32.add (local.get $at) (i32.const 4)))
            (local.set $state (i32.const 0))
            (br $specials)))
        (local.set $pos (i32.add (local.get $pos) (local.get $width)))
        (if (i32.gt_u (local.get $pos) (local.get $next))
          (then (local.set $state (i32.const 1))))
        (br $blocks)))

    (global.set $state (local.get $state))
    (i32.shr_u (i32.sub (local.get $at) (local.get $out)) (i32.const 2)))

  ;; Kinds (csv-profiler.ts has the same numbers).
  ;; 0 integer, 1 decimal, 2 text, 3 empty, 4 other: the content as
  ;; given, 5 other: a quoted field to unquote.

  ;; classify(count, ends, width, stride): reads the records the field
  ;; ends delimit (complete ones: the last entry ends a line). pandas'
  ;; blank lines (one field of nothing but spaces, tabs and \r) are no
  ;; records; while $header is 1 the first record is skipped as the
  ;; header. Each data record's fields go to entries column * stride +
  ;; row (a column's fields side by side), its bytes' start and end
  ;; (before its \n) to $recordStarts and $recordEnds.
  ;; Returns the data records; a record of another width sets $ragged
  ;; and ends the call (the validator refuses such a file).
  (global $header (export "header") (mut i32) (i32.const 1))
  (global $ragged (export "ragged") (mut i32) (i32.const 0))
  (global $recordStarts (export "recordStarts") (mut i32) (i32.const 0))
  (global $recordEnds (export "recordEnds") (mut i32) (i32.const 0))

  (func (export "classify") (param $count i32) (param $ends i32) (param $width i32) (param $stride i32) (result i32)
    (local $k i32)
    (local $entry i32)
    (local $start i32)
    (local $s i32)
    (local $e i32)
    (local $column i32)
    (local $row i32)
    (local $record i32)
    (local $p i32)
    (local $c i32)
    (local $blank i32)
    (block $done
      (loop $fields
        (br_if $done (i32.ge_u (local.get $k) (local.get $count)))
        (local.set $entry
          (i32.load (i32.add (local.get $ends) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (local.set $s (local.get $start))
        (local.set $e (i32.and (local.get $entry) (i32.const 0x7fffffff)))
        (local.set $start (i32.add (local.get $e) (i32.const 1)))
        (if (i32.ge_s (local.get $entry) (i32.const 0))
          (then
            (if (i32.eqz (global.get $header))
              (then
                (if (i32.lt_u (local.get $column) (local.get $width))
                  (then
                    (call $field
                      (i32.add (i32.mul (local.get $column) (local.get $stride)) (local.get $row))
                      (local.get $s)
                      (local.get $e))))))
            (local.set $column (i32.add (local.get $column) (i32.const 1)))
            (br $fields)))
        ;; A line's last field: without the \r of a \r\n.
        (if (i32.gt_u (local.get $e) (local.get $s))
          (then
            (if (i32.eq (i32.load8_u (i32.sub (local.get $e) (i32.const 1))) (i32.const 13))
              (then (local.set $e (i32.sub (local.get $e) (i32.const 1)))))))
        (if (i32.eqz (local.get $column))
          (then
            ;; One field on the line: blank if only spaces, tabs and \r.
            (local.set $blank (i32.const 1))
            (local.set $p (local.get $s))
            (block $checked
              (loop $bytes
                (br_if $checked (i32.ge_u (local.get $p) (local.get $e)))
                (local.set $c (i32.load8_u (local.get $p)))
                (if (i32.or
                      (i32.eq (local.get $c) (global.get $delimiter))
                      (i32.eqz
                        (i32.or
                          (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 9)))
                          (i32.eq (local.get $c) (i32.const 13)))))
                  (then
                    (local.set $blank (i32.const 0))
                    (br $checked)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $bytes)))
            (if (local.get $blank)
              (then
                (local.set $record (local.get $start))
                (br $fields)))))
        (if (global.get $header)
          (then
            (global.set $header (i32.const 0))
            (local.set $column (i32.const 0))
            (local.set $record (local.get $start))
            (br $fields)))
        (if (i32.lt_u (local.get $column) (local.get $width))
          (then
            (call $field
              (i32.add (i32.mul (local.get $column) (local.get $stride)) (local.get $row))
              (local.get $s)
              (local.get $e))))
        (if (i32.ne (i32.add (local.get $column) (i32.const 1)) (local.get $width))
          (then
            (global.set $ragged (i32.const 1))
            (br $done)))
        (i32.store
          (i32.add (global.get $recordStarts) (i32.shl (local.get $row) (i32.const 2)))
          (local.get $record))
        (i32.store
          (i32.add (global.get $recordEnds) (i32.shl (local.get $row) (i32.const 2)))
          (i32.and (local.get $entry) (i32.const 0x7fffffff)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (local.set $column (i32.const 0))
        (local.set $record (local.get $start))
        (br $fields)))
    (local.get $row))

  (func $field (param $k i32) (param $s i32) (param $e i32)
    (local $kind i32)
    (local $value f64)
    (local $hash i32)
    (local $high i32)
    (local $low i32)
    (local $q i32)
    (local $length i32)
    (local $c i32)
    (local $p i32)
    (local $negative i32)
    (local $number i64)
    (local $integer i32)
    (local $fraction i32)
    (local $dot i32)
    (local $d i32)
    (local $bits i64)
    (local $h i32)
    (block $store
      (block $text
        ;; "…" with no quote inside: its content; else JavaScript unquotes.
        (if (i32.and
              (i32.gt_u (local.get $e) (local.get $s))
              (i32.eq (i32.load8_u (local.get $s)) (i32.const 34)))
          (then
            (local.set $q (i32.add (local.get $s) (i32.const 1)))
            (block $found
              (loop $scan
                (br_if $found (i32.ge_u (local.get $q) (local.get $e)))
                (br_if $found (i32.eq (i32.load8_u (local.get $q)) (i32.const 34)))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $scan)))
            (if (i32.ne (local.get $q) (i32.sub (local.get $e) (i32.const 1)))
              (then
                (local.set $kind (i32.const 5))
                (br $store)))
            (local.set $s (i32.add (local.get $s) (i32.const 1)))
            (local.set $e (local.get $q))))
        (local.set $length (i32.sub (local.get $e) (local.get $s)))
        (if (i32.eqz (local.get $length))
          (then
            (local.set $kind (i32.const 3))
            (br $store)))
        (local.set $c (i32.load8_u (local.get $s)))
        (local.set $d (i32.load8_u (i32.sub (local.get $e) (i32.const 1))))
        ;; Spaces around: \t \n \v \f \r (9-13) or ' ' (32).
        (if (i32.or
              (i32.or
                (i32.eq (local.get $c) (i32.const 32))
                (i32.le_u (i32.sub (local.get $c) (i32.const 9)) (i32.const 4)))
              (i32.or
                (i32.eq (local.get $d) (i32.const 32))
                (i32.le_u (i32.sub (local.get $d) (i32.const 9)) (i32.const 4))))
          (then
            (local.set $kind (i32.const 4))
            (br $store)))
        ;; The first eight bytes, big-endian, zeros past the end (the
        ;; input is followed by at least 64 readable bytes).
        (local.set $bits (i64.load (local.get $s)))
        (local.set $bits
          (i64.or
            (i64.or
              (i64.or
                (i64.shl (local.get $bits) (i64.const 56))
                (i64.shl (i64.and (local.get $bits) (i64.const 0xff00)) (i64.const 40)))
              (i64.or
                (i64.shl (i64.and (local.get $bits) (i64.const 0xff0000)) (i64.const 24))
                (i64.shl (i64.and (local.get $bits) (i64.const 0xff000000)) (i64.const 8))))
            (i64.or
              (i64.or
                (i64.and (i64.shr_u (local.get $bits) (i64.const 8)) (i64.const 0xff000000))
                (i64.and (i64.shr_u (local.get $bits) (i64.const 24)) (i64.const 0xff0000)))
              (i64.or
                (i64.and (i64.shr_u (local.get $bits) (i64.const 40)) (i64.const 0xff00))
                (i64.shr_u (local.get $bits) (i64.const 56))))))
        (if (i32.lt_u (local.get $length) (i32.const 8))
          (then
            (local.set $bits
              (i64.and
                (local.get $bits)
                (i64.shl
                  (i64.const -1)
                  (i64.extend_i32_u
                    (i32.shl (i32.sub (i32.const 8) (local.get $length)) (i32.const 3))))))))
        (local.set $high (i32.wrap_i64 (i64.shr_u (local.get $bits) (i64.const 32))))
        (local.set $low (i32.wrap_i64 (local.get $bits)))

        ;; [sign] digits [. digits]
        (local.set $p (local.get $s))
        (if (i32.eq (local.get $c) (i32.const 45))
          (then
            (local.set $negative (i32.const 1))
            (local.set $p (i32.add (local.get $p) (i32.const 1))))
          (else
            (if (i32.eq (local.get $c) (i32.const 43))
              (then (local.set $p (i32.add (local.get $p) (i32.const 1)))))))
        (block $integer_done
          (loop $integer_digits
            (br_if $integer_done (i32.ge_u (local.get $p) (local.get $e)))
            (local.set $d (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
            (br_if $integer_done (i32.gt_u (local.get $d) (i32.const 9)))
            (local.set $number
              (i64.add
                (i64.mul (local.get $number) (i64.const 10))
                (i64.extend_i32_u (local.get $d))))
            (local.set $integer (i32.add (local.get $integer) (i32.const 1)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $integer_digits)))
        (if (i32.and
              (i32.lt_u (local.get $p) (local.get $e))
              (i32.eq (i32.load8_u (local.get $p)) (i32.const 46)))
          (then
            (local.set $dot (i32.const 1))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (block $fraction_done
              (loop $fraction_digits
                (br_if $fraction_done (i32.ge_u (local.get $p) (local.get $e)))
                (local.set $d (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
                (br_if $fraction_done (i32.gt_u (local.get $d) (i32.const 9)))
                (local.set $number
                  (i64.add
                    (i64.mul (local.get $number) (i64.const 10))
                    (i64.extend_i32_u (local.get $d))))
                (local.set $fraction (i32.add (local.get $fraction) (i32.const 1)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $fraction_digits)))))
        (br_if $text (i32.eqz (i32.add (local.get $integer) (local.get $fraction))))
        (if (i32.lt_u (local.get $p) (local.get $e))
          (then
            ;; An exponent is JavaScript's; anything else makes it text.
            (if (i32.eq (i32.or (i32.load8_u (local.get $p)) (i32.const 32)) (i32.const 101))
              (then
                (local.set $kind (i32.const 4))
                (br $store)))
            (br $text)))
        ;; Up to 15 digits the integer is exact in a double, as each of
        ;; precise_xstrtod's steps (number * 10 + digit) is: the same value.
        (if (i32.gt_u (i32.add (local.get $integer) (local.get $fraction)) (i32.const 15))
          (then
            (local.set $kind (i32.const 4))
            (br $store)))
        (local.set $value (f64.convert_i64_u (local.get $number)))
        (if (local.get $negative)
          (then
            ;; -0.0 for a decimal, 0 for an integer (int64 has no -0).
            (local.set $value
              (if (result f64) (local.get $dot)
                (then (f64.neg (local.get $value)))
                (else (f64.convert_i64_s (i64.sub (i64.const 0) (local.get $number))))))))
        (if (local.get $dot)
          (then
            (local.set $kind (i32.const 1))
            (local.set $value
              (f64.div
                (local.get $value)
                (f64.load
                  (i32.add (global.get $powers) (i32.shl (local.get $fraction) (i32.const 3))))))))
        ;; hashNumber: 0 and -0 alike.
        (local.set $bits
          (i64.reinterpret_f64
            (if (result f64) (f64.eq (local.get $value) (f64.const 0))
              (then (f64.const 0))
              (else (local.get $value)))))
        (local.set $h (i32.wrap_i64 (local.get $bits)))
          (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))
          (local.set $h (i32.mul (local.get $h) (i32.const 0x85ebca6b)))
          (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 13))))
          (local.set $h (i32.mul (local.get $h) (i32.const 0xc2b2ae35)))
          (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))
        (local.set $h (i32.xor (local.get $h) (i32.wrap_i64 (i64.shr_u (local.get $bits) (i64.const 32)))))
          (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))
          (local.set $h (i32.mul (local.get $h) (i32.const 0x85ebca6b)))
          (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 13))))
          (local.set $h (i32.mul (local.get $h) (i32.const 0xc2b2ae35)))
          (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))
        (local.set $hash (local.get $h))
        (br $store))

      ;; Not a number: a word pandas may read specially, or text.
      (if (i32.and
            (i32.le_u (local.get $length) (i32.const 9))
            (i32.load8_u (i32.add (global.get $special) (local.get $c))))
        (then
          (local.set $kind (i32.const 4))
          (br $store)))
      (local.set $kind (i32.const 2))
      ;; hashBytes: FNV-1a over little-endian words (zeros past the
      ;; end), then mixed with the length.
      (local.set $hash (i32.const 0x811c9dc5))
      (local.set $p (local.get $s))
      (block $hashed
        (loop $words
          (br_if $hashed (i32.ge_u (local.get $p) (local.get $e)))
          (local.set $q (i32.load (local.get $p)))
          (if (i32.lt_u (i32.sub (local.get $e) (local.get $p)) (i32.const 4))
            (then
              (local.set $q
                (i32.and
                  (local.get $q)
                  (i32.shr_u
                    (i32.const -1)
                    (i32.shl
                      (i32.sub (i32.const 4) (i32.sub (local.get $e) (local.get $p)))
                      (i32.const 3)))))))
          (local.set $hash
            (i32.mul (i32.xor (local.get $hash) (local.get $q)) (i32.const 0x01000193)))
          (local.set $p (i32.add (local.get $p) (i32.const 4)))
          (br $words)))
      (local.set $h (i32.xor (local.get $hash) (local.get $length)))
          (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))
          (local.set $h (i32.mul (local.get $h) (i32.const 0x85ebca6b)))
          (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 13))))
          (local.set $h (i32.mul (local.get $h) (i32.const 0xc2b2ae35)))
          (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))
      (local.set $hash (local.get $h)))

    (local.set $k (i32.add (global.get $fields) (i32.shl (local.get $k) (i32.const 5))))
    (f64.store (local.get $k) (local.get $value))
    (i32.store offset=8 (local.get $k) (local.get $hash))
    (i32.store offset=12 (local.get $k) (local.get $high))
    (i32.store offset=16 (local.get $k) (local.get $low))
    (i32.store offset=20 (local.get $k) (local.get $s))
    (i32.store offset=24 (local.get $k) (local.get $e))
    (i32.store8 offset=28 (local.get $k) (local.get $kind)))
)
