;; The CSV validator's row scan in WebAssembly SIMD: the same rules and
;; states as CsvScanner (csv-scanner.ts), but it only checks that every
;; record has the expected number of fields. Sixteen bytes are classified
;; at once; only the bytes that matter (delimiter, quote, \n, \r) are
;; looked at one by one, and a quoted field is crossed sixteen bytes at a
;; time. Assembled by assemble-wasm.cjs into csv-fields-wasm.ts.
;;
;; The caller copies up to 1 MB of input to offset 0 of memory, sets the
;; globals to its own scanner's state, calls scan and reads them back, so
;; one instance serves every upload in the process. Memory has room for
;; a 16-byte load starting at any input byte.
(module
  (memory (export "memory") 17)

  ;; 0 field start, 1 unquoted, 2 quoted, 3 quote seen inside quoted
  (global $state (export "state") (mut i32) (i32.const 0))
  (global $fields (export "fields") (mut i32) (i32.const 1))
  ;; 1 once the current record holds a byte other than \r
  (global $content (export "content") (mut i32) (i32.const 0))
  (global $delimiter (export "delimiter") (mut i32) (i32.const 44))
  (global $expected (export "expected") (mut i32) (i32.const 0))
  ;; complete records counted by this call
  (global $records (export "records") (mut i32) (i32.const 0))

  ;; Scans memory[0, len). 1: every record ended in it had the expected
  ;; field count; 0: one did not ($fields is its count, and it is the
  ;; last counted in $records).
  (func (export "scan") (param $len i32) (result i32)
    (local $state i32)
    (local $fields i32)
    (local $content i32)
    (local $records i32)
    (local $delimiter i32)
    (local $expected i32)
    (local $ok i32)
    (local $pos i32)
    (local $width i32)
    (local $next i32)
    (local $p i32)
    (local $mask i32)
    (local $byte i32)
    (local $v v128)
    (local $delimiters v128)
    (local $quotes v128)
    (local $newlines v128)
    (local $returns v128)
    (local.set $state (global.get $state))
    (local.set $fields (global.get $fields))
    (local.set $content (global.get $content))
    (local.set $delimiter (global.get $delimiter))
    (local.set $expected (global.get $expected))
    (local.set $ok (i32.const 1))
    (local.set $delimiters (i8x16.splat (local.get $delimiter)))
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
              (then
                (local.set $state (i32.const 1))
                (local.set $content (i32.const 1))))
            (local.set $next (i32.add (local.get $p) (i32.const 1)))
            (local.set $byte (i32.load8_u (local.get $p)))

            (if (i32.eq (local.get $byte) (local.get $delimiter))
              (then
                (local.set $fields (i32.add (local.get $fields) (i32.const 1)))
                (local.set $state (i32.const 0))
                (local.set $content (i32.const 1))
                (br $specials)))
            (if (i32.eq (local.get $byte) (i32.const 10))
              (then
                ;; A blank line (nothing, or only \r) is not a record.
                (if (local.get $content)
                  (then
                    (local.set $records (i32.add (local.get $records) (i32.const 1)))
                    (if (i32.ne (local.get $fields) (local.get $expected))
                      (then
                        (local.set $ok (i32.const 0))
                        (br $done)))))
                (local.set $state (i32.const 0))
                (local.set $fields (i32.const 1))
                (local.set $content (i32.const 0))
                (br $specials)))
            (if (i32.eq (local.get $byte) (i32.const 13))
              (then
                (if (i32.eq (local.get $state) (i32.const 3))
                  (then (local.set $state (i32.const 1))))
                (br $specials)))
            ;; A quote: at a field's start it opens a quoted field; right
            ;; after a closing quote it is the second half of "" (an
            ;; escaped quote); elsewhere it is data.
            (local.set $content (i32.const 1))
            (if (i32.or
                  (i32.eqz (local.get $state))
                  (i32.eq (local.get $state) (i32.const 3)))
              (then
                (local.set $state (i32.const 2))
                ;; The rest of the block is inside the quoted field.
                (local.set $pos (local.get $next))
                (br $blocks)))
            (br $specials)))
        (local.set $pos (i32.add (local.get $pos) (local.get $width)))
        (if (i32.gt_u (local.get $pos) (local.get $next))
          (then
            (local.set $state (i32.const 1))
            (local.set $content (i32.const 1))))
        (br $blocks)))

    (global.set $state (local.get $state))
    (global.set $fields (local.get $fields))
    (global.set $content (local.get $content))
    (global.set $records (local.get $records))
    (local.get $ok))
)
