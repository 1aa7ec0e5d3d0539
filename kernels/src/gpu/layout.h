/* gpu/layout.h -- the layout of the GPU table blob, shared by the host code
 * that builds it (gpu/tables.c) and the device code that reads it
 * (gpu/device.h). Plain #defines, so that C, OpenCL C and CUDA accept it.
 * Word t[T_x] of the blob is the word offset of section x, or a count. */
#ifndef DHATU_GPU_LAYOUT_H
#define DHATU_GPU_LAYOUT_H

#define T_CLASS_DIRECT 0   /* word offsets of each section in the table blob */
#define T_FOLD_DIRECT  1
#define T_DIRECT       2   /* counts */
#define T_RANGE_START  3
#define T_RANGE_CLASS  4
#define T_NRANGES      5
#define T_FOLD_FROM    6
#define T_FOLD_TO      7
#define T_NFOLDS       8
#define T_BYTE_CLASS   9
#define T_NCLASSES     10
#define T_SEP_CLASS    11
#define T_NEXT         12
#define T_EXACT        13
#define T_STEM         14
#define T_TERM_LIVE    15
#define T_TERM_CUE0    16
#define T_TERM_NCUE    17
#define T_CUE_MASK     18
#define T_CUE_CODE     19  /* dhatu | negative << 8 */
#define T_ASCII_TRIE   20  /* [128]: trie class of the folded ASCII WORD byte, else ASCII_NOT_WORD */
#define T_HEADER_WORDS 21

/* Words the scan kernel writes per segment: positive[9], negative[9],
 * tokens (low word, high word). */
#define SEG_WORDS 20

/* Trie states in T_NEXT: child node << 2 | these flags; 0 = dead. */
#define ST_STEM  1u
#define ST_EXACT 2u
#define ST_ROOT  (1u << 2)         /* node 1 (DHATU_LEX_ROOT), no flags */
#define ASCII_NOT_WORD 0xFFFFFFFFu

#define CC_SEP 0
#define CC_WORD 1
#define CC_MARK 2
#define CC_SYMBOL 3
#define CC_IGNORE 4
#define CP_INVALID 0xFFFFFFFFu
#define NO_TERM 0xFFFFFFFFu

#endif
